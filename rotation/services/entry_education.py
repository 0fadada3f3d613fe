"""入科教育: what a department tells a resident on arrival, who told it, and the resident's confirmation.

Each department may keep its own checklist (EntryEducationTopic rows of the department); a
department without one uses the hospital's default list (rows without a department), created on
first use from DEFAULT_TOPICS in the hospital language. The teaching secretary, the head or the
block's supervisor records it (rotation.permissions_practice.EntryEducationPolicy "edit"); the
resident confirms it ("confirm"); a confirmed record is final.

The completion rate of a department is "blocks started in a period whose entry education the
resident confirmed / blocks started in that period"; the target is 100 %.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Department, Hospital, SpecialtyBase, User
from core.audit import audit_record
from notices.notify import notify

from ..models import EntryEducation, EntryEducationTopic, RotationBlock
from ..permissions import block_roles

#: The hospital's default checklist (科室介绍, 规章制度, 培训计划与要求, 医德医风, 医患沟通).
DEFAULT_TOPICS = (
    gettext_lazy("Department introduction"),
    gettext_lazy("Rules and regulations"),
    gettext_lazy("Training plan and requirements"),
    gettext_lazy("Medical ethics and conduct"),
    gettext_lazy("Doctor–patient communication"),
)
TARGET_RATE = 1.0


def main_hospital_id(department: Department) -> int:
    """A collaborating site's departments use the main hospital's defaults."""
    return department.hospital.parent_id or department.hospital_id


def ensure_default_topics(hospital: Hospital | int) -> list[EntryEducationTopic]:
    """The hospital's default checklist, created in the hospital language the first time it is asked for."""
    hospital_id = hospital if isinstance(hospital, int) else hospital.pk
    rows = list(EntryEducationTopic.objects.filter(hospital_id=hospital_id, department__isnull=True, is_active=True))
    if rows or EntryEducationTopic.objects.filter(hospital_id=hospital_id, department__isnull=True).exists():
        return rows
    with translation.override(settings.LANGUAGE_CODE):
        rows = [
            EntryEducationTopic(hospital_id=hospital_id, title=str(title), position=position)
            for position, title in enumerate(DEFAULT_TOPICS, start=1)
        ]
    EntryEducationTopic.objects.bulk_create(rows)
    return list(EntryEducationTopic.objects.filter(hospital_id=hospital_id, department__isnull=True, is_active=True))


def topics_for(department: Department) -> list[EntryEducationTopic]:
    """The department's checklist, else the hospital's default one."""
    own = list(EntryEducationTopic.objects.filter(department=department, is_active=True))
    return own or ensure_default_topics(main_hospital_id(department))


def has_own_topics(department: Department) -> bool:
    return EntryEducationTopic.objects.filter(department=department, is_active=True).exists()


@transaction.atomic
def entry_topics_set(*, department: Department, titles: list[str], acting_user: User) -> list[EntryEducationTopic]:
    """Replace the department's own checklist by `titles` (in order); an empty list returns to the hospital's.

    Topics no longer listed are switched off, not deleted: past records keep what they covered.
    """
    cleaned: list[str] = []
    for title in titles:
        title = title.strip()
        if title and title not in cleaned:
            cleaned.append(title)
    too_long = [t for t in cleaned if len(t) > 100]
    if too_long:
        raise ValidationError(_("A topic may have at most 100 characters: %(topic)s") % {"topic": too_long[0][:40]})
    existing = {t.title: t for t in EntryEducationTopic.objects.select_for_update().filter(department=department)}
    before = [t.title for t in sorted(existing.values(), key=lambda t: t.position) if t.is_active]
    for position, title in enumerate(cleaned, start=1):
        topic = existing.get(title)
        if topic is None:
            EntryEducationTopic.objects.create(
                hospital_id=main_hospital_id(department), department=department, title=title, position=position
            )
        elif topic.position != position or not topic.is_active:
            topic.position, topic.is_active = position, True
            topic.save(update_fields=["position", "is_active"])
    for title, topic in existing.items():
        if title not in cleaned and topic.is_active:
            topic.is_active = False
            topic.save(update_fields=["is_active"])
    audit_record(
        action="rotation.entry_topics_set",
        target=department,
        acting_user=acting_user,
        changes={"topics": [before, cleaned]},
    )
    return topics_for(department)


# --- recording and confirming ------------------------------------------------------------------


def may_record(user, block: RotationBlock) -> bool:
    """Who records entry education for a block (also before any record exists): secretary, head, supervisor."""
    if not getattr(user, "is_authenticated", False):
        return False
    roles = block_roles(user, block)
    return roles["secretary"] or roles["head"] or roles["supervisor"]


def _block_url(block: RotationBlock) -> str:
    return reverse("rotation:blocks_block", args=[block.uuid])


@transaction.atomic
def entry_education_record(
    *,
    block: RotationBlock,
    given_on: datetime.date,
    topics: list[EntryEducationTopic],
    note: str = "",
    given_by: User | None = None,
    acting_user: User,
) -> EntryEducation:
    """Record (or correct, until the resident confirms) the entry education of a block and ask the resident to confirm.

    Rules: at least one topic of the department's checklist; given on a day of the block (a few days
    before arrival are allowed, for a department that briefs early) and not in the future.
    """
    block = RotationBlock.objects.select_for_update().select_related("resident__user", "department").get(pk=block.pk)
    today = timezone.localdate()
    if given_on > today:
        raise ValidationError(_("Entry education cannot be dated in the future."), code="future")
    if given_on < block.start_date - datetime.timedelta(days=7) or given_on > block.end_date:
        raise ValidationError(
            _("Entry education must be given during the rotation (%(start)s to %(end)s).")
            % {"start": block.start_date, "end": block.end_date},
            code="outside_block",
        )
    allowed = {t.pk for t in topics_for(block.department)}
    chosen = [t for t in topics if t.pk in allowed]
    if not chosen:
        raise ValidationError(_("Tick at least one topic of the department's checklist."), code="no_topics")
    education = EntryEducation.objects.filter(block=block).first()
    given_by = given_by or acting_user
    if education is not None and education.confirmed_at is not None:
        raise ValidationError(_("The resident has already confirmed this entry education."), code="confirmed")
    before = None
    if education is None:
        education = EntryEducation.objects.create(block=block, given_by=given_by, given_on=given_on, note=note.strip())
    else:
        before = {"given_by": education.given_by.display_name, "given_on": str(education.given_on)}
        education.given_by, education.given_on, education.note = given_by, given_on, note.strip()
        education.save(update_fields=["given_by", "given_on", "note"])
    education.topics.set(chosen)
    audit_record(
        action="rotation.entry_education_record" if before is None else "rotation.entry_education_correct",
        target=education,
        acting_user=acting_user,
        changes={
            "given_by": [before and before["given_by"], given_by.display_name],
            "given_on": [before and before["given_on"], str(given_on)],
            "topics": [None, [t.title for t in chosen]],
        },
        block=str(block.uuid),
    )
    notify(
        [block.resident.user],
        title=gettext_lazy("Please confirm your entry education"),
        body=f"{block.department.name} · {given_on:%Y-%m-%d} · {given_by.display_name}",
        url=_block_url(block),
        kind="rotation.entry_education",
    )
    return education


@transaction.atomic
def entry_education_confirm(*, education: EntryEducation, acting_user: User) -> EntryEducation:
    """The resident confirms they received it; once confirmed it counts for the department's rate and is final."""
    education = EntryEducation.objects.select_for_update().get(pk=education.pk)
    if education.confirmed_at is not None:
        raise ValidationError(_("You have already confirmed this entry education."), code="confirmed")
    education.confirmed_at = timezone.now()
    education.save(update_fields=["confirmed_at"])
    audit_record(
        action="rotation.entry_education_confirm",
        target=education,
        acting_user=acting_user,
        changes={"confirmed_at": [None, education.confirmed_at.isoformat()]},
    )
    return education


# --- completion rates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    started: int
    confirmed: int
    recorded: int

    @property
    def rate(self) -> float | None:
        return self.confirmed / self.started if self.started else None

    @property
    def percent(self) -> int | None:
        return None if self.rate is None else round(self.rate * 100)

    @property
    def on_target(self) -> bool:
        return self.rate is None or self.rate >= TARGET_RATE


def default_period(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The last twelve months up to today."""
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=365), today


def blocks_started(queryset: QuerySet, first: datetime.date, last: datetime.date) -> QuerySet[RotationBlock]:
    return queryset.filter(start_date__gte=first, start_date__lte=last)


def _completions(blocks: QuerySet[RotationBlock], group: str) -> dict[int, Completion]:
    rows = (
        blocks.order_by()
        .values(group)
        .annotate(
            started=Count("pk"),
            recorded=Count("pk", filter=Q(entry_education__isnull=False)),
            confirmed=Count("pk", filter=Q(entry_education__confirmed_at__isnull=False)),
        )
    )
    return {r[group]: Completion(r["started"], r["confirmed"], r["recorded"]) for r in rows}


def completion_rate(department: Department, first: datetime.date, last: datetime.date) -> Completion:
    """Blocks of the department started in [first, last] and how many have a confirmed entry education (1 query)."""
    blocks = blocks_started(RotationBlock.objects.filter(department=department), first, last)
    return _completions(blocks, "department_id").get(department.pk, Completion(0, 0, 0))


def base_rates(base: SpecialtyBase, first: datetime.date, last: datetime.date) -> list[tuple[Department, Completion]]:
    """Every active department of a base with its completion rate (2 queries)."""
    departments = list(Department.objects.filter(base=base).select_related("hospital").order_by("code"))
    blocks = blocks_started(RotationBlock.objects.filter(department__in=departments), first, last)
    rates = _completions(blocks, "department_id")
    return [(d, rates.get(d.pk, Completion(0, 0, 0))) for d in departments]


def to_confirm(user) -> QuerySet[EntryEducation]:
    """The resident's entry educations waiting for their confirmation."""
    return EntryEducation.objects.filter(block__resident__user_id=user.pk, confirmed_at__isnull=True).select_related(
        "block__department", "given_by"
    )
