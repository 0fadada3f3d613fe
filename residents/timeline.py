"""What the archive itself adds to the resident's timeline: start, approved changes, posts, conduct, certificates.

Sources read the profile's related rows through `.all()`, so the archive page's prefetch
serves them without further queries.
"""

from django.urls import reverse
from django.utils.translation import gettext as _

from core import timeline
from core.permissions import can

from .choices import ChangeState, ConductKind


@timeline.register(timeline.RESIDENT, "training")
def training_start(profile, viewer):
    detail = _("%(base)s, cohort %(cohort)s, %(years)s-year programme") % {
        "base": profile.base.name,
        "cohort": profile.cohort,
        "years": profile.training_years,
    }
    if profile.batch_id:
        detail += " · " + _("enrollment batch %(batch)s") % {"batch": profile.batch}
    yield timeline.TimelineEntry(
        when=profile.start_date, title=_("Training started"), detail=detail, kind="training", icon="flag"
    )


@timeline.register(timeline.RESIDENT, "training_change")
def approved_changes(profile, viewer):
    """The dated status history: each approved 退培/延期/休学/... with its reason."""
    for change in profile.training_changes.all():
        if change.state != ChangeState.APPROVED:
            continue
        yield timeline.TimelineEntry(
            when=change.effective_date,
            title=change.get_kind_display(),
            detail=change.reason,
            kind="training_change",
            icon="signpost-split",
        )


@timeline.register(timeline.RESIDENT, "post")
def posts(profile, viewer):
    for post in profile.posts.all():
        detail = _("until %(date)s") % {"date": post.end_date.isoformat()} if post.end_date else _("currently held")
        if post.note:
            detail += " · " + post.note
        yield timeline.TimelineEntry(
            when=post.start_date,
            title=_("Post: %(title)s") % {"title": post.title},
            detail=detail,
            kind="post",
            icon="person-badge",
        )


@timeline.register(timeline.RESIDENT, "conduct")
def conduct(profile, viewer):
    """Awards and commendations for everyone who sees the archive; disciplinary records only for
    the resident and those who keep the archive."""
    sees_discipline = profile.user_id == getattr(viewer, "pk", None) or can(viewer, "records", profile)
    for record in profile.conduct_records.all():
        discipline = record.kind == ConductKind.DISCIPLINE
        if discipline and not sees_discipline:
            continue
        yield timeline.TimelineEntry(
            when=record.date,
            title=f"{record.get_kind_display()}: {record.title}",
            detail=" · ".join(part for part in (record.issuer, record.detail) if part),
            kind="conduct",
            icon="exclamation-octagon" if discipline else "award",
        )


@timeline.register(timeline.RESIDENT, "certificate")
def certificates(profile, viewer):
    for certificate in profile.certificates.all():
        yield timeline.TimelineEntry(
            when=certificate.issued_on or certificate.uploaded_at,
            title=_("Certificate: %(title)s") % {"title": certificate.title},
            detail=certificate.get_kind_display(),
            kind="certificate",
            icon="file-earmark-check",
            url=reverse("residents:certificate_download", args=[certificate.uuid]),
        )
