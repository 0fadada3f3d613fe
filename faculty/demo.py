"""Demo data for the faculty archive: a teaching archive for every demo teacher.

Runs after accounts (order 10): every active user holding a supervisor, teaching secretary, department
head, base director or mentor role gets a `FacultyProfile` in the department of their role (base roles:
a department of their base), with a title spread the way a teaching hospital's is (heads and directors
senior, some secretaries still 住院医师), teaching since a date that fits the title, 指导医师准入 for most
supervisors who meet the rule (a few expired, one or two revoked, some renewed), one to three 师资培训,
posts matching their roles (a 教学主任 in most departments), assessments for the last three years and
some achievements. The persona `supervisor` gets a certificate file in the upload storage.

Deterministic: each teacher's details come from a generator seeded with their username; dates are fixed
relative to ANCHOR. Idempotent: users who already have an archive are skipped, and records are only made
for archives made in this run. Fast: everything is bulk-created.
"""

import random
import zlib
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import Q
from django.utils import timezone

from accounts.choices import Role, SiteKind
from accounts.models import Department, Hospital, RoleAssignment, User
from core import mongo
from core.audit import audit_record
from core.demo import register
from core.pinyin import initials

from .choices import RANK, AchievementKind, AssessmentResult, TeachingPostKind, Title, TrainingLevel
from .models import (
    Achievement,
    AnnualAssessment,
    FacultyProfile,
    FacultyTraining,
    QualificationRule,
    SupervisorQualification,
    TeachingPost,
)

ANCHOR = date(2025, 9, 1)
SEED = "faculty-20250901"
TEACHING_ROLES = (Role.SUPERVISOR, Role.TEACHING_SECRETARY, Role.DEPARTMENT_HEAD, Role.BASE_DIRECTOR, Role.MENTOR)
#: Department roles, most telling first: a head who also supervises belongs to the department they head.
DEPARTMENT_ROLES = (Role.DEPARTMENT_HEAD, Role.TEACHING_SECRETARY, Role.SUPERVISOR)
PERSONA = "supervisor"

COURSES = (
    ("住院医师规范化培训师资培训班", TrainingLevel.PROVINCIAL, "省卫生健康委员会科教处"),
    ("全国住院医师规范化培训骨干师资培训", TrainingLevel.NATIONAL, "中国医师协会"),
    ("临床带教能力提升培训", TrainingLevel.HOSPITAL, "医院住培办"),
    ("Mini-CEX与DOPS评价方法培训", TrainingLevel.HOSPITAL, "医院住培办"),
    ("教学查房规范化培训", TrainingLevel.MUNICIPAL, "市医学会"),
    ("住培政策解读与带教职责培训", TrainingLevel.HOSPITAL, "医院住培办"),
    ("临床技能教学（OSCE考官）培训", TrainingLevel.PROVINCIAL, "省住培质控中心"),
)
ACHIEVEMENTS = (
    (AchievementKind.AWARD, "优秀带教老师", "院级"),
    (AchievementKind.AWARD, "住培优秀指导医师", "省级"),
    (AchievementKind.AWARD, "青年教师教学竞赛二等奖", "院级"),
    (AchievementKind.PAPER, "PBL联合情景模拟在{dept}住院医师带教中的应用", "核心期刊"),
    (AchievementKind.PAPER, "Mini-CEX在{dept}住培形成性评价中的实践", "统计源期刊"),
    (AchievementKind.PROJECT, "{dept}住院医师临床思维培养模式研究", "市级教改课题"),
    (AchievementKind.TEXTBOOK, "《{dept}住院医师规范化培训手册》（参编）", "人民卫生出版社"),
)
EDUCATION = ("博士研究生", "硕士研究生", "硕士研究生", "大学本科")


def _years_before(rng: random.Random, low: int, high: int) -> date:
    """A start date `low`..`high` years before the anchor, on the first of a month hospitals appoint in."""
    year = ANCHOR.year - rng.randint(low, high)
    return date(year, rng.choice((3, 7, 9)), 1)


def _title(rng: random.Random, roles: set[str]) -> str:
    if Role.BASE_DIRECTOR in roles:
        return rng.choices((Title.CHIEF, Title.ASSOCIATE_CHIEF), (7, 3))[0]
    if Role.DEPARTMENT_HEAD in roles:
        return rng.choices((Title.CHIEF, Title.ASSOCIATE_CHIEF), (6, 4))[0]
    if Role.MENTOR in roles:
        return rng.choices((Title.ATTENDING, Title.ASSOCIATE_CHIEF, Title.CHIEF), (3, 5, 2))[0]
    if Role.SUPERVISOR in roles:
        return rng.choices(
            (Title.RESIDENT_PHYSICIAN, Title.ATTENDING, Title.ASSOCIATE_CHIEF, Title.CHIEF), (8, 50, 30, 12)
        )[0]
    return rng.choices((Title.RESIDENT_PHYSICIAN, Title.ATTENDING, Title.ASSOCIATE_CHIEF), (35, 55, 10))[0]


#: Years of teaching a title usually comes with (a 住院医师 who teaches has just started).
TEACHING_YEARS = {
    Title.RESIDENT_PHYSICIAN: (0, 2),
    Title.ATTENDING: (1, 10),
    Title.ASSOCIATE_CHIEF: (6, 16),
    Title.CHIEF: (10, 25),
}


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _teachers(hospital: Hospital) -> dict[int, dict]:
    """user id -> username, name, roles, department ids and base ids of their teaching roles."""
    people: dict[int, dict] = {}
    rows = (
        RoleAssignment.objects.filter(role__in=TEACHING_ROLES, user__is_active=True)
        .filter(
            Q(department__hospital=hospital) | Q(department__hospital__parent=hospital) | Q(base__hospital=hospital)
        )
        .values_list("user_id", "user__username", "user__real_name", "role", "department_id", "base_id")
        .order_by("user__username", "role", "pk")
    )
    for user_id, username, real_name, role, department_id, base_id in rows:
        person = people.setdefault(
            user_id, {"username": username, "name": real_name, "roles": set(), "departments": {}, "bases": []}
        )
        person["roles"].add(role)
        if department_id and role in DEPARTMENT_ROLES:
            person["departments"].setdefault(role, department_id)
        if base_id and base_id not in person["bases"]:
            person["bases"].append(base_id)
    return people


@register("faculty", order=30)
def seed_faculty(stdout=None) -> str:
    """Teaching archives for the demo hospital's teachers, with qualifications and records."""
    hospital = Hospital.objects.filter(code="demo", kind=SiteKind.MAIN).first()
    if hospital is None:
        return "no demo hospital yet: nothing seeded"
    office = (
        User.objects.filter(role_assignments__role=Role.TRAINING_OFFICE, role_assignments__hospital=hospital)
        .order_by("username")
        .first()
    )
    rule = QualificationRule.current()
    people = _teachers(hospital)
    existing = set(FacultyProfile.objects.filter(user_id__in=people).values_list("user_id", flat=True))
    base_departments: dict[int, list[int]] = defaultdict(list)
    for department_id, base_id in (
        Department.objects.filter(hospital=hospital, base__isnull=False, is_active=True)
        .order_by("code")
        .values_list("pk", "base_id")
    ):
        base_departments[base_id].append(department_id)

    profiles = []
    for user_id, person in sorted(people.items(), key=lambda item: item[1]["username"]):
        if user_id in existing:
            continue
        rng = random.Random(f"{SEED}:{person['username']}")
        roles = person["roles"]
        department_id = next((person["departments"][r] for r in DEPARTMENT_ROLES if r in person["departments"]), None)
        if department_id is None:
            candidates = [d for b in person["bases"] for d in base_departments.get(b, [])]
            if not candidates:
                continue
            department_id = rng.choice(candidates)
        title = _title(rng, roles)
        if person["username"] == PERSONA:
            title = Title.ATTENDING
        low, high = TEACHING_YEARS[title]
        teaching_since = date(2019, 9, 1) if person["username"] == PERSONA else _years_before(rng, low, high)
        title_since = teaching_since + timedelta(days=365 * rng.randint(0, max(0, ANCHOR.year - teaching_since.year)))
        profiles.append(
            FacultyProfile(
                user_id=user_id,
                department_id=department_id,
                name_initials=initials(person["name"]),
                title=title,
                title_since=min(title_since, ANCHOR),
                teaching_since=teaching_since,
                specialty=rng.choice(("", "", "临床", "介入", "重症", "内镜", "影像")),
                education=rng.choice(EDUCATION),
            )
        )
    FacultyProfile.objects.bulk_create(profiles, batch_size=500)
    created = list(
        FacultyProfile.objects.filter(user_id__in=[p.user_id for p in profiles])
        .select_related("user", "department")
        .order_by("user__username")
    )

    qualifications, trainings, posts, assessments, achievements = [], [], [], [], []
    for profile in created:
        person = people[profile.user_id]
        rng = random.Random(f"{SEED}:{person['username']}:records")
        qualifications += _qualifications(rng, profile, person["roles"], rule, office)
        trainings += _trainings(rng, profile)
        posts += _posts(rng, profile, person)
        assessments += _assessments(rng, profile, office)
        achievements += _achievements(rng, profile)
    _teaching_directors(created, people, posts)
    SupervisorQualification.objects.bulk_create(qualifications, batch_size=500)
    FacultyTraining.objects.bulk_create(trainings, batch_size=500)
    TeachingPost.objects.bulk_create(posts, batch_size=500)
    AnnualAssessment.objects.bulk_create(assessments, batch_size=500)
    Achievement.objects.bulk_create(achievements, batch_size=500)
    files = _persona_certificate(created)

    if not created:
        return "up to date"
    audit_record(action="demo.seed", target=hospital, acting_user=office, faculty=len(created))
    valid = sum(1 for q in qualifications if q.is_valid(timezone.localdate()))
    return (
        f"+{len(created)} faculty archives, {valid} qualified now, {len(qualifications) - valid} earlier or lapsed "
        f"qualifications, +{len(trainings)} trainings ({files} with a certificate file), +{len(posts)} posts, "
        f"+{len(assessments)} assessments, +{len(achievements)} achievements"
    )


def _qualifications(rng, profile, roles, rule, office) -> list[SupervisorQualification]:
    """Most teachers who supervise and meet the rule are qualified; some renewed, a few lapsed or revoked."""
    if not roles & {Role.SUPERVISOR, Role.DEPARTMENT_HEAD, Role.MENTOR}:
        return []
    if RANK[profile.title] < RANK[rule.min_title] or profile.teaching_years(ANCHOR) < rule.min_teaching_years:
        return []
    made = []
    draw = rng.random()
    if profile.user.username == PERSONA:
        draw = 0.0
    if draw < 0.80:  # valid now: granted in the last two years before the anchor
        granted = ANCHOR - timedelta(days=rng.randint(30, 600))
        if profile.teaching_years(granted) >= rule.min_teaching_years and rng.random() < 0.35:
            earlier = _add_years(granted, -rule.validity_years)
            if earlier >= profile.teaching_since:
                made.append(_qualification(profile, earlier, granted - timedelta(days=1), office))
        made.append(_qualification(profile, granted, _add_years(granted, rule.validity_years), office))
    elif draw < 0.93:  # expired, not renewed yet
        granted = date(rng.choice((2020, 2021)), rng.choice((3, 6, 9, 12)), 1)
        if granted >= profile.teaching_since:
            made.append(_qualification(profile, granted, _add_years(granted, rule.validity_years), office))
    elif draw < 0.96:  # revoked after a complaint
        granted = ANCHOR - timedelta(days=rng.randint(400, 700))
        qualification = _qualification(profile, granted, _add_years(granted, rule.validity_years), office)
        qualification.revoked_on = granted + timedelta(days=rng.randint(100, 300))
        qualification.note = "带教考核不合格，暂停带教资格"
        made.append(qualification)
    return made


def _qualification(profile, granted: date, expires: date, office) -> SupervisorQualification:
    return SupervisorQualification(faculty=profile, granted_on=granted, expires_on=expires, granted_by=office)


def _trainings(rng, profile) -> list[FacultyTraining]:
    made = []
    earliest = max(profile.teaching_since or date(2015, 1, 1), date(2015, 1, 1))
    for name, level, organiser in rng.sample(COURSES, k=rng.randint(1, 3)):
        start = date.fromordinal(rng.randint(earliest.toordinal(), ANCHOR.toordinal()))
        days = rng.choice((0, 1, 2, 4))
        made.append(
            FacultyTraining(
                faculty=profile,
                name=name,
                organiser=organiser,
                level=level,
                start_date=start,
                end_date=start + timedelta(days=days),
                hours=Decimal(8 * (days + 1)),
                certificate_number=f"SZ{start.year}{rng.randrange(10**5):05d}",
            )
        )
    return made


def _posts(rng, profile, person) -> list[TeachingPost]:
    """The teaching posts matching the sign-in roles, from when the teaching started."""
    roles, made = person["roles"], []
    department = profile.department
    if roles & {Role.SUPERVISOR, Role.DEPARTMENT_HEAD}:
        made.append(TeachingPost(faculty=profile, kind=TeachingPostKind.SUPERVISOR, department=department,
                                 start_date=profile.teaching_since))  # fmt: skip
    if Role.TEACHING_SECRETARY in roles:
        made.append(TeachingPost(faculty=profile, kind=TeachingPostKind.SECRETARY, department=department,
                                 start_date=date(2020, 9, 1)))  # fmt: skip
    base_id = department.base_id or (person["bases"][0] if person["bases"] else None)
    if Role.MENTOR in roles:
        made.append(TeachingPost(faculty=profile, kind=TeachingPostKind.MENTOR, base_id=base_id,
                                 start_date=date(2020, 9, 1)))  # fmt: skip
    if Role.BASE_DIRECTOR in roles:
        made.append(TeachingPost(faculty=profile, kind=TeachingPostKind.BASE_DIRECTOR, base_id=base_id,
                                 start_date=date(2020, 9, 1)))  # fmt: skip
    return made


def _teaching_directors(created, people, posts: list[TeachingPost]) -> None:
    """教学主任: in most departments the most senior teacher who is not the head, or the head."""
    by_department: dict[int, list] = defaultdict(list)
    for profile in created:
        by_department[profile.department_id].append(profile)
    for department_id, teachers in sorted(by_department.items()):
        rng = random.Random(f"{SEED}:director:{department_id}")
        if rng.random() > 0.7:
            continue
        others = [t for t in teachers if Role.DEPARTMENT_HEAD not in people[t.user_id]["roles"]] or teachers
        chosen = max(others, key=lambda t: (RANK[t.title], -(t.teaching_since or ANCHOR).toordinal(), -t.pk))
        if RANK[chosen.title] < RANK[Title.ATTENDING]:
            continue
        start = max(chosen.teaching_since or ANCHOR, date(2018, 1, 1))
        posts.append(TeachingPost(faculty=chosen, kind=TeachingPostKind.TEACHING_DIRECTOR,
                                  department_id=department_id, start_date=date(start.year, 9, 1)))  # fmt: skip


def _assessments(rng, profile, office) -> list[AnnualAssessment]:
    made = []
    for year in range(ANCHOR.year - 2, ANCHOR.year + 1):
        if profile.teaching_since and profile.teaching_since.year > year:
            continue
        result = rng.choices(
            (AssessmentResult.EXCELLENT, AssessmentResult.PASS, AssessmentResult.BASIC_PASS, AssessmentResult.FAIL),
            (25, 65, 8, 2),
        )[0]
        low, high = {
            AssessmentResult.EXCELLENT: (90, 98),
            AssessmentResult.PASS: (75, 89),
            AssessmentResult.BASIC_PASS: (60, 74),
            AssessmentResult.FAIL: (45, 59),
        }[result]
        made.append(
            AnnualAssessment(
                faculty=profile,
                year=year,
                result=result,
                score=Decimal(rng.randint(low * 10, high * 10)) / 10,
                assessed_by=office,
            )
        )
    return made


def _achievements(rng, profile) -> list[Achievement]:
    if rng.random() > 0.35:
        return []
    made = []
    for kind, title, level in rng.sample(ACHIEVEMENTS, k=rng.randint(1, 2)):
        made.append(
            Achievement(
                faculty=profile,
                kind=kind,
                title=title.format(dept=profile.department.name),
                level=level,
                date=date(rng.randint(2019, ANCHOR.year - 1), rng.randint(1, 12), rng.choice((1, 15))),
            )
        )
    return made


def _pdf(text: str) -> bytes:
    """A one-page PDF (Helvetica, ASCII) with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _persona_certificate(created) -> int:
    """The demo supervisor's first training carries a PDF certificate (skipped when GridFS is down)."""
    profile = next((p for p in created if p.user.username == PERSONA), None)
    if profile is None:
        return 0
    if "GridFS" in settings.STORAGES["default"]["BACKEND"] and not (mongo.is_configured() and mongo.ping()):
        return 0
    training = FacultyTraining.objects.filter(faculty=profile).order_by("start_date", "pk").first()
    if training is None:
        return 0
    content = _pdf(f"Certificate {training.certificate_number}")
    try:
        training.certificate.save(f"{zlib.crc32(content):08x}.pdf", ContentFile(content), save=False)
    except mongo.MongoUnavailable:
        return 0
    training.certificate_name = f"{training.name}.pdf"
    training.certificate_type = "application/pdf"
    training.save(update_fields=["certificate", "certificate_name", "certificate_type"])
    return 1
