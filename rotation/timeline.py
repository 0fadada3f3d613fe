"""Rotation blocks on the resident's archive timeline and supervision on the faculty page."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import timeline

from .models import RotationBlock


@timeline.register(timeline.RESIDENT, "rotation")
def resident_rotations(profile, viewer):
    today = timezone.localdate()
    blocks = RotationBlock.objects.filter(resident=profile).select_related("department", "supervisor")
    # Whoever sees the archive sees the rotation page (both use the residents' visibility).
    url = reverse("rotation:resident", args=[profile.uuid])
    for block in blocks:
        if block.start_date > today:
            state = _("scheduled")
        elif block.end_date < today:
            state = _("completed")
        else:
            state = _("current")
        detail = _("%(start)s to %(end)s, %(state)s") % {
            "start": block.start_date,
            "end": block.end_date,
            "state": state,
        }
        if block.supervisor_id:
            detail += " · " + _("supervisor %(name)s") % {"name": block.supervisor.display_name}
        yield timeline.TimelineEntry(
            when=block.start_date,
            title=_("Rotation in %(department)s") % {"department": block.department.name},
            detail=detail,
            kind="rotation",
            icon="arrow-repeat",
            url=url,
        )


@timeline.register(timeline.FACULTY, "supervision")
def faculty_supervision(profile, viewer):
    blocks = RotationBlock.objects.filter(supervisor_id=profile.user_id).select_related("resident__user", "department")
    for block in blocks:
        yield timeline.TimelineEntry(
            when=block.start_date,
            title=_("Supervised %(resident)s") % {"resident": block.resident.user.display_name},
            detail=_("%(department)s, %(start)s to %(end)s")
            % {"department": block.department.name, "start": block.start_date, "end": block.end_date},
            kind="supervision",
            icon="person-check",
        )


@timeline.register(timeline.RESIDENT, "exit")
def resident_exits(profile, viewer):
    """出科 results (passed or failed, with the total), dated when the base closed them."""
    from .choices import ExitStage
    from .models import ExitReview

    reviews = ExitReview.objects.filter(
        block__resident=profile, stage__in=[ExitStage.PASSED, ExitStage.FAILED]
    ).select_related("block__department")
    for review in reviews:
        block = review.block
        result = _("passed") if review.passed else _("failed")
        detail = _("%(result)s, total %(total)s") % {"result": result, "total": review.total}
        if not review.passed and review.review_comment:
            detail += " · " + review.review_comment[:100]
        yield timeline.TimelineEntry(
            when=review.reviewed_at or block.end_date,
            title=_("Exit from %(department)s") % {"department": block.department.name},
            detail=detail,
            kind="exit",
            icon="check2-circle" if review.passed else "x-circle",
            url=reverse("rotation:blocks_block", args=[block.uuid]),
        )


@timeline.register(timeline.RESIDENT, "caseload")
def resident_caseload(profile, viewer):
    """The 登记手册 of each started block in the archive: approved entries and completion against the quotas."""
    from django.db.models import Count, Q

    from .choices import EntryStatus
    from .services.caseload_progress import progress_for

    today = timezone.localdate()
    blocks = list(
        RotationBlock.objects.filter(resident=profile, start_date__lte=today)
        .select_related("department")
        .annotate(approved=Count("caseload", filter=Q(caseload__status=EntryStatus.APPROVED)))
        .filter(approved__gt=0)
    )
    progress = progress_for(blocks)
    for block in blocks:
        detail = ngettext("%(count)s approved entry", "%(count)s approved entries", block.approved) % {
            "count": block.approved
        }
        kinds = [k for k in progress[block.pk].kinds if k.required]
        if kinds:
            detail += " · " + "、".join(f"{k.label} {k.percent}%" for k in kinds)
        yield timeline.TimelineEntry(
            when=min(block.end_date, today),
            title=_("Caseload log in %(department)s") % {"department": block.department.name},
            detail=detail,
            kind="caseload",
            icon="journal-medical",
            url=reverse("rotation:caseload_block", args=[block.uuid]),
        )
