"""Demo data for the resident e-archive: a complete archive for every demo resident, and enrollment.

Runs after accounts (order 10): every user holding an active resident role in the demo hospital gets a
`ResidentProfile` whose gender and birth date agree with their ID number, with education, licence,
training fields, a responsible mentor of their base, emergency contacts, and for some of them posts
(班长 of each cohort and base, 总住院医师), awards and a few certificate files in the upload storage.
One enrollment batch per cohort year holds them, with a quota per base at least its intake.

Status histories are the rows the approval flow would have left (its services are not called, so no
notification or audit per change): one 退培, one 延期 and one 休学, each an approved `TrainingChange`
with `applied_changes`, its `ArchiveRevision` (source approval) and, when the workflow
`residents.training_change` is registered, its approved request with one approval per step; and 结业
for everyone whose planned end has passed by the day the seeder runs (the cohorts are fixed years, so
from September 2026 the 2023 cohort has completed). One disciplinary case is closed, one open.

Deterministic: every draw comes from a generator seeded with a fixed number and a name (the user's
username, "withdraw", "quota:<batch>:<base>"...), so a person's archive does not depend on who else
exists. Dates are fixed, except what cannot lie in the future: 结业, and licences and awards dated
after today are left out. Idempotent: users who already have an archive are skipped, batches and
quotas are matched on their natural keys, certificate files on (archive, title). Fast: everything is
bulk-created; only the handful of certificate files is saved one by one.
"""

import io
import random
import struct
import uuid
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.files.base import ContentFile
from django.db.models import Case, Model, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Role, SiteKind
from accounts.demo import COHORTS, COMPOUND_SURNAMES, GIVEN_FEMALE, GIVEN_MALE, HOSPITAL, PHONE_PREFIXES, SURNAMES
from accounts.models import Hospital, RoleAssignment, SpecialtyBase, User
from core import mongo
from core.audit import audit_record
from core.demo import register
from core.pinyin import initials

from .choices import (
    BatchStatus,
    CertificateKind,
    ChangeKind,
    ChangeState,
    ConductKind,
    Degree,
    DegreeType,
    EducationLevel,
    Gender,
    PoliticalStatus,
    RevisionSource,
    TrainingCategory,
    TrainingStatus,
)
from .models import (
    ArchiveRevision,
    Certificate,
    ConductRecord,
    EmergencyContact,
    EnrollmentBatch,
    EnrollmentQuota,
    Post,
    ResidentProfile,
    TrainingChange,
)

SEED = 20250902
PERSONA = "resident"
TRAINING_WORKFLOW = "residents.training_change"

# ---------------------------------------------------------------- reference data
#: Districts of the region codes accounts.demo draws ID numbers from (GB/T 2260), for home addresses.
DISTRICTS = {
    "310101": "上海市黄浦区", "310104": "上海市徐汇区", "310115": "上海市浦东新区",
    "320102": "江苏省南京市玄武区", "320106": "江苏省南京市鼓楼区", "320205": "江苏省无锡市锡山区",
    "320506": "江苏省苏州市吴中区", "320583": "江苏省昆山市", "320602": "江苏省南通市崇川区",
    "321002": "江苏省扬州市广陵区", "330102": "浙江省杭州市上城区", "330106": "浙江省杭州市西湖区",
    "330203": "浙江省宁波市海曙区", "330302": "浙江省温州市鹿城区", "330402": "浙江省嘉兴市南湖区",
    "330602": "浙江省绍兴市越城区", "340102": "安徽省合肥市瑶海区", "340104": "安徽省合肥市蜀山区",
    "340202": "安徽省芜湖市镜湖区", "350102": "福建省福州市鼓楼区", "350203": "福建省厦门市思明区",
    "360102": "江西省南昌市东湖区", "370102": "山东省济南市历下区", "370202": "山东省青岛市市南区",
    "110101": "北京市东城区", "110105": "北京市朝阳区", "420102": "湖北省武汉市江岸区",
    "430102": "湖南省长沙市芙蓉区", "410105": "河南省郑州市金水区", "510104": "四川省成都市锦江区",
}  # fmt: skip
STREETS = ("人民路", "解放路", "中山路", "建设路", "和平路", "文化路", "新华路", "长江路", "胜利路", "青年路", "学府路")
ESTATES = ("阳光花园", "锦绣家园", "翠苑小区", "幸福里", "东方名苑", "金色港湾", "新城公寓", "书香门第")

#: Medical schools by the province code of the ID number; a third of residents come from the national list.
NATIONAL_SCHOOLS = (
    "北京大学医学部", "首都医科大学", "复旦大学上海医学院", "上海交通大学医学院", "中国医科大学",
    "浙江大学医学院", "华中科技大学同济医学院", "中南大学湘雅医学院", "四川大学华西临床医学院", "山东大学齐鲁医学院",
)  # fmt: skip
SCHOOLS = {
    "11": ("首都医科大学", "北京大学医学部"),
    "31": ("复旦大学上海医学院", "上海交通大学医学院", "同济大学医学院", "上海中医药大学"),
    "32": ("南京医科大学", "苏州大学医学部", "徐州医科大学", "南通大学医学院", "扬州大学医学院", "东南大学医学院"),
    "33": ("浙江大学医学院", "温州医科大学", "浙江中医药大学", "宁波大学医学部", "杭州医学院"),
    "34": ("安徽医科大学", "蚌埠医科大学", "皖南医学院"),
    "35": ("福建医科大学", "厦门大学医学院"),
    "36": ("南昌大学医学部", "赣南医科大学"),
    "37": ("山东大学齐鲁医学院", "青岛大学医学部", "山东第一医科大学", "滨州医学院"),
    "41": ("郑州大学医学院", "新乡医学院"),
    "42": ("华中科技大学同济医学院", "武汉大学医学部"),
    "43": ("中南大学湘雅医学院", "南华大学衡阳医学院"),
    "51": ("四川大学华西临床医学院", "西南医科大学", "川北医学院"),
}
#: Graduate majors and 执业范围 by base code; bachelors mostly read 临床医学.
SPECIALTY = {
    "0100": ("内科学", "内科"), "0200": ("儿科学", "儿科"), "0300": ("急诊医学", "急救医学"),
    "0600": ("神经病学", "内科"), "0700": ("全科医学", "全科医学"), "0900": ("外科学", "外科"),
    "1600": ("妇产科学", "妇产科"), "1900": ("麻醉学", "外科"),
}  # fmt: skip
BACHELOR_MAJORS = {"0200": "儿科学", "1900": "麻醉学", "0600": "精神医学"}
ETHNICITIES = ("回族", "满族", "壮族", "蒙古族", "土家族", "苗族", "朝鲜族", "畲族")
#: 委培 sending units: county hospitals of the region (the collaborating 示范县人民医院 first).
SENDING_UNITS = (
    "示范县人民医院", "如皋市人民医院", "沭阳县人民医院", "桐庐县第一人民医院", "长兴县人民医院",
    "宁国市人民医院", "泗洪县人民医院", "歙县人民医院", "庐江县人民医院", "德清县人民医院",
)  # fmt: skip
MASTER_SCHOOL = "华东示范大学医学院"
RELATIONS_OLDER = ("父亲", "母亲")
AWARDS = (
    (ConductKind.AWARD, "优秀住院医师", HOSPITAL["name"]),
    (ConductKind.AWARD, "住院医师临床技能竞赛二等奖", "省卫生健康委员会"),
    (ConductKind.AWARD, "住院医师临床技能竞赛三等奖", "省卫生健康委员会"),
    (ConductKind.AWARD, "优秀共青团员", "院团委"),
    (ConductKind.COMMENDATION, "年度考核优秀", "住院医师规范化培训办公室"),
    (ConductKind.COMMENDATION, "患者表扬信", "医务部"),
    (ConductKind.COMMENDATION, "急危重症抢救表现突出，通报表扬", "医务部"),
)


# ---------------------------------------------------------------- small valid files for certificates
def demo_pdf(lines: list[str]) -> bytes:
    """A one-page PDF (Helvetica, ASCII text) with a correct cross-reference table."""
    text = "".join(
        f"BT /F1 {18 if n == 0 else 12} Tf 72 {760 - 28 * n} Td ({_pdf_escape(line)}) Tj ET\n"
        for n, line in enumerate(lines)
    ).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >>"
        b" /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%sendstream" % (len(text), text),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def demo_png(width: int = 160, height: int = 100, colour: tuple[int, int, int] = (178, 34, 34)) -> bytes:
    """A small certificate-like picture: cream paper, a coloured frame and a seal."""
    paper, ink = (253, 248, 232), colour
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type: none
        for x in range(width):
            frame = min(x, y, width - 1 - x, height - 1 - y) < 5
            seal = (x - width * 3 // 4) ** 2 + (y - height * 2 // 3) ** 2 < 14**2
            row += bytes(ink if frame or seal else paper)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------- helpers
def _at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _surname(real_name: str) -> str:
    return real_name[:2] if real_name[:2] in COMPOUND_SURNAMES else real_name[:1]


def _phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _given(rng: random.Random, male: bool) -> str:
    chars = GIVEN_MALE if male else GIVEN_FEMALE
    return "".join(rng.choice(chars) for _ in range(rng.choice((1, 2, 2))))


def _set_times(model: type[Model], field: str, moments: dict[int, datetime]) -> None:
    """Give auto_now_add columns their historical values, in one UPDATE."""
    if moments:
        whens = [When(pk=pk, then=Value(moment)) for pk, moment in moments.items()]
        model.objects.filter(pk__in=moments).update(**{field: Case(*whens, output_field=model._meta.get_field(field))})


def _display(field: str, value) -> str:
    """How an archive revision shows a training field's value (as residents.changes writes it)."""
    if value is None:
        return ""
    if field == "status":
        return str(TrainingStatus(value).label)
    return value.isoformat() if isinstance(value, date) else str(value)


@dataclass
class Resident:
    user: User
    base: SpecialtyBase
    cohort: int


# ---------------------------------------------------------------- one archive
def build_profile(resident: Resident, mentor: User | None, batch: EnrollmentBatch | None) -> ResidentProfile:
    """A complete archive for one resident, drawn from a generator seeded with their username."""
    user, base, cohort = resident.user, resident.base, resident.cohort
    rng = random.Random(f"{SEED}:{user.username}")
    persona = user.username == PERSONA
    id_number = user.id_number
    birth = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    male = int(id_number[16]) % 2 == 1
    start = date(cohort, 9, 1)
    today = timezone.localdate()

    # training category (人员类型)
    roll = rng.random()
    if persona:
        category, sending_unit = TrainingCategory.ENTRUSTED, SENDING_UNITS[0]
    elif roll < 0.15:
        category, sending_unit = TrainingCategory.OWN, HOSPITAL["name"]
    elif roll < 0.35:
        category, sending_unit = TrainingCategory.ENTRUSTED, rng.choice(SENDING_UNITS)
    elif roll < 0.50:
        category, sending_unit = TrainingCategory.MASTER, MASTER_SCHOOL
    else:
        category, sending_unit = TrainingCategory.SOCIAL, ""

    # education
    province = id_number[:2]
    local = SCHOOLS.get(province, ())
    school = rng.choice(local) if local and rng.random() < 0.65 else rng.choice(NATIONAL_SCHOOLS)
    graduate_major, practising_scope = SPECIALTY.get(base.code, ("临床医学", "内科"))
    roll = rng.random()
    if category == TrainingCategory.MASTER or persona or roll < 0.76:
        level, degree, degree_type = EducationLevel.BACHELOR, Degree.BACHELOR, ""
        major = BACHELOR_MAJORS.get(base.code, "临床医学") if rng.random() < 0.12 else "临床医学"
    elif roll < 0.97:
        level, degree, major = EducationLevel.MASTER, Degree.MASTER, graduate_major
        degree_type = DegreeType.PROFESSIONAL if rng.random() < 0.7 else DegreeType.ACADEMIC
    else:
        level, degree, degree_type, major = EducationLevel.DOCTOR, Degree.DOCTOR, DegreeType.ACADEMIC, graduate_major
    # 委培 and 本单位 residents often worked a few years first; everyone else comes straight from school
    worked = category in (TrainingCategory.OWN, TrainingCategory.ENTRUSTED) and not persona and rng.random() < 0.5
    graduated_in = cohort - rng.randint(1, 3) if worked else cohort
    graduation = date(graduated_in, 6, rng.choice((20, 25, 28, 30)))
    training_years = 2 if level == EducationLevel.DOCTOR and rng.random() < 0.5 else 3

    # licence: the 医师资格考试 needs a year of clinical work; results come out in late autumn
    exam_year = graduated_in + 1
    qualified_on = date(exam_year, 11, rng.randint(10, 28))
    has_qualification = qualified_on <= today and (persona or rng.random() < 0.88)
    registered = has_qualification and (
        persona or rng.random() < (0.8 if category in (TrainingCategory.OWN, TrainingCategory.ENTRUSTED) else 0.3)
    )
    # Numbers are made up and never embed the ID number, which must stay masked everywhere.
    qualification_number = f"{exam_year}110{province}{rng.randrange(10**10):010d}" if has_qualification else ""
    registered_at = sending_unit if category == TrainingCategory.ENTRUSTED else HOSPITAL["name"]

    district = DISTRICTS.get(id_number[:6], "江苏省南京市鼓楼区")
    if rng.random() < 0.5:
        address = f"{district}{rng.choice(STREETS)}{rng.randint(1, 399)}号"
    else:
        address = (
            f"{district}{rng.choice(STREETS)}{rng.randint(1, 399)}号{rng.choice(ESTATES)}"
            f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 28)}{rng.randint(1, 4):02d}室"
        )
    political = rng.choices(
        [PoliticalStatus.CPC_MEMBER, PoliticalStatus.CPC_PROBATIONARY, PoliticalStatus.LEAGUE_MEMBER,
         PoliticalStatus.MASSES, PoliticalStatus.DEMOCRATIC_PARTY],
        weights=[25, 5, 45, 22, 3],
    )[0]  # fmt: skip

    return ResidentProfile(
        user=user,
        name_initials=initials(user.real_name),  # save() would, bulk_create does not
        gender=Gender.MALE if male else Gender.FEMALE,
        birth_date=birth,
        ethnicity="汉族" if rng.random() < 0.9 else rng.choice(ETHNICITIES),
        political_status=political,
        address=address,
        school=school,
        major=major,
        education_level=level,
        degree=degree,
        degree_type=degree_type,
        graduation_date=graduation,
        fresh_graduate=graduated_in == cohort,
        has_qualification=has_qualification,
        qualification_number=qualification_number,
        qualification_date=qualified_on if has_qualification else None,
        practising_number=f"1{province}{rng.randrange(10**12):012d}" if registered else "",
        practising_registration=(
            f"执业类别：临床；执业范围：{practising_scope}专业；执业地点：{registered_at}" if registered else ""
        ),
        category=category,
        sending_unit=sending_unit,
        base=base,
        cohort=cohort,
        training_years=training_years,
        start_date=start,
        planned_end_date=_plus_years(start, training_years) - timedelta(days=1),
        mentor=mentor,
        status=TrainingStatus.IN_TRAINING,
        status_since=start,
        batch=batch,
    )


def build_contacts(profile: ResidentProfile) -> list[EmergencyContact]:
    rng = random.Random(f"{SEED}:contacts:{profile.user.username}")
    surname = _surname(profile.user.real_name)
    age = profile.start_date.year - profile.birth_date.year
    contacts = []
    if age >= 27 and rng.random() < 0.4:
        spouse_male = profile.gender == Gender.FEMALE
        contacts.append(("配偶", rng.choice(SURNAMES) + _given(rng, spouse_male)))
    relation = rng.choice(RELATIONS_OLDER)
    if relation == "父亲":
        contacts.append(("父亲", surname + _given(rng, True)))
    else:
        contacts.append(("母亲", rng.choice(SURNAMES) + _given(rng, False)))
    if len(contacts) == 1 and rng.random() < 0.5:
        other = "母亲" if relation == "父亲" else "父亲"
        name = surname + _given(rng, True) if other == "父亲" else rng.choice(SURNAMES) + _given(rng, False)
        contacts.append((other, name))
    return [EmergencyContact(resident=profile, name=name, relation=rel, phone=_phone(rng)) for rel, name in contacts]


# ---------------------------------------------------------------- the seeder
@register("residents", order=20)
def seed_residents(stdout=None) -> str:
    """Archives for the demo residents, enrollment batches, posts, awards, status histories and certificates."""
    hospital = Hospital.objects.filter(code=HOSPITAL["code"], kind=SiteKind.MAIN).first()
    if hospital is None:
        return "no demo hospital yet: nothing seeded"
    office = _holder(Role.TRAINING_OFFICE, hospital=hospital, prefer="office")
    today = timezone.localdate()

    residents = _demo_residents(hospital)
    mentors = _mentors_by_base({r.base for r in residents})
    batches = _batches(hospital, sorted({r.cohort for r in residents}), office)

    # archives
    existing = set(
        ResidentProfile.objects.filter(user__in=[r.user for r in residents]).values_list("user_id", flat=True)
    )
    load: Counter[int] = Counter(
        ResidentProfile.objects.filter(mentor__isnull=False).values_list("mentor_id", flat=True)
    )
    profiles = []
    for resident in residents:
        if resident.user.pk in existing:
            continue
        mentor = None
        candidates = mentors.get(resident.base.pk, [])
        # a few of the newest cohort wait for the base to assign them a mentor
        rng = random.Random(f"{SEED}:mentor:{resident.user.username}")
        first_year_unassigned = resident.cohort == max(batches) and rng.random() < 0.1
        if candidates and (resident.user.username == PERSONA or not first_year_unassigned):
            mentor = min(candidates, key=lambda m: (load[m.pk], m.pk))  # the least loaded mentor of the base
            load[mentor.pk] += 1
        profiles.append(build_profile(resident, mentor, batches.get(resident.cohort)))
    ResidentProfile.objects.bulk_create(profiles, batch_size=500)
    created = list(
        ResidentProfile.objects.filter(user__in=[p.user for p in profiles])
        .select_related("user", "base", "batch")
        .order_by("user__username")
    )

    contacts = [contact for profile in created for contact in build_contacts(profile)]
    EmergencyContact.objects.bulk_create(contacts, batch_size=500)
    posts = _posts(created, office)
    Post.objects.bulk_create(posts)
    records = _conduct(created, office)
    ConductRecord.objects.bulk_create(records)
    changes = _histories(created, hospital, office, today)
    _enrollment_revisions(created, office)
    _quotas(batches)
    files = _certificates(hospital)
    requests = _approval_requests(changes)

    if created or files > 0:
        audit_record(
            action="demo.seed", target=hospital, acting_user=office, archives=len(created), certificates=max(files, 0)
        )
    files_note = f"{files} certificate files" if files >= 0 else "certificate files skipped (MongoDB unavailable)"
    if not created:
        return "up to date" if files == 0 else f"up to date, {files_note}"
    return (
        f"{len(created)} archives, {len(batches)} enrollment batches, {len(contacts)} emergency contacts, "
        f"{len(posts)} posts, {len(records)} awards and disciplinary records, {len(changes)} status changes"
        f"{f' ({requests} approval requests)' if requests else ''}, {files_note}"
    )


def _holder(role: str, prefer: str = "", **scope) -> User | None:
    users = User.objects.filter(
        pk__in=RoleAssignment.objects.active_on().filter(role=role, **scope).values("user_id"), is_active=True
    )
    return users.filter(username=prefer).first() or users.order_by("pk").first()


def _demo_residents(hospital: Hospital) -> list[Resident]:
    """Users with an active resident role in the demo hospital; the cohort is the year their role began."""
    assignments = (
        RoleAssignment.objects.active_on()
        # the demo cohorts only: a registration approved later is enrolled through a batch, not here
        .filter(role=Role.RESIDENT, base__hospital=hospital, user__is_active=True, valid_from__year__in=list(COHORTS))
        .select_related("user", "base")
        .order_by("user__username", "valid_from")
    )
    seen: dict[int, Resident] = {}
    for assignment in assignments:
        if assignment.user_id not in seen:
            seen[assignment.user_id] = Resident(assignment.user, assignment.base, assignment.valid_from.year)
    return list(seen.values())


def _mentors_by_base(bases: set[SpecialtyBase]) -> dict[int, list[User]]:
    """The mentors of each base; a base without any gets two of its supervisors as mentors."""
    holders = RoleAssignment.objects.active_on().filter(role=Role.MENTOR, base__in=bases).select_related("user")
    mentors: dict[int, list[User]] = defaultdict(list)
    for assignment in holders.order_by("user_id"):
        if assignment.user not in mentors[assignment.base_id]:
            mentors[assignment.base_id].append(assignment.user)
    for base in sorted(bases, key=lambda b: b.code):
        if mentors[base.pk]:
            continue
        supervisors = (
            User.objects.filter(
                role_assignments__role=Role.SUPERVISOR, role_assignments__department__base=base, is_active=True
            )
            .distinct()
            .order_by("pk")[:2]
        )
        for user in supervisors:
            RoleAssignment.objects.get_or_create(
                user=user, role=Role.MENTOR, base=base, valid_until=None, defaults={"valid_from": date(2020, 9, 1)}
            )
            mentors[base.pk].append(user)
    return mentors


def _batches(hospital: Hospital, years: list[int], office: User | None) -> dict[int, EnrollmentBatch]:
    """One batch per cohort year; the latest stays open so the office can admit this year's applicants."""
    batches = {}
    for year in years:
        batch, _created = EnrollmentBatch.objects.get_or_create(
            hospital=hospital,
            year=year,
            name=f"{year}年住院医师规范化培训招录",
            defaults={
                "status": BatchStatus.OPEN if year == max(years) else BatchStatus.CLOSED,
                "start_date": date(year, 9, 1),
                "opened_by": office,
                "note": f"{year}年度招录，{year}年9月1日入培。",
            },
        )
        batches[year] = batch
    return batches


def _quotas(batches: dict[int, EnrollmentBatch]) -> None:
    """A quota per base of each batch, at least the residents it enrolled (a little more in some bases)."""
    enrolled = Counter(
        ResidentProfile.objects.filter(batch__in=batches.values()).values_list("batch_id", "base_id").order_by()
    )
    existing = {(q.batch_id, q.base_id): q for q in EnrollmentQuota.objects.filter(batch__in=batches.values())}
    new, raised = [], []
    for (batch_id, base_id), count in sorted(enrolled.items()):
        quota = existing.get((batch_id, base_id))
        if quota is None:
            spare = random.Random(f"{SEED}:quota:{batch_id}:{base_id}").choice((0, 0, 1, 2))
            new.append(EnrollmentQuota(batch_id=batch_id, base_id=base_id, quota=count + spare))
        elif quota.quota < count:
            quota.quota = count
            raised.append(quota)
    EnrollmentQuota.objects.bulk_create(new)
    EnrollmentQuota.objects.bulk_update(raised, ["quota"])


# ---------------------------------------------------------------- posts and conduct
def _posts(profiles: list[ResidentProfile], office: User | None) -> list[Post]:
    """班长 of every cohort in every base (the persona `resident` for 2024 内科), and 总住院医师 (two half-year
    terms) in the larger bases' oldest cohort."""
    today = timezone.localdate()
    by_group: dict[tuple[int, int], list[ResidentProfile]] = defaultdict(list)
    for profile in profiles:
        by_group[(profile.cohort, profile.base_id)].append(profile)
    posts = []
    for (_cohort, _base), group in sorted(by_group.items()):
        rng = random.Random(f"{SEED}:monitor:{group[0].cohort}:{group[0].base.code}")
        monitor = next((p for p in group if p.user.username == PERSONA), None) or rng.choice(group)
        ends = monitor.planned_end_date if monitor.planned_end_date < today else None
        posts.append(
            Post(resident=monitor, title="班长", start_date=monitor.start_date, end_date=ends, recorded_by=office)
        )
    oldest = min((p.cohort for p in profiles), default=None)
    for code in ("0100", "0900", "0200", "0700"):
        group = [p for p in profiles if p.cohort == oldest and p.base.code == code]
        if not group:
            continue
        rng = random.Random(f"{SEED}:chief:{code}")
        for half, chief in enumerate(rng.sample(group, k=min(2, len(group)))):
            begins = date(oldest + 2, 9, 1) if half == 0 else date(oldest + 3, 3, 1)
            if begins > today:
                continue
            ends = date(oldest + 3, 2, 28) if half == 0 else date(oldest + 3, 8, 31)
            posts.append(
                Post(
                    resident=chief,
                    title="总住院医师",
                    start_date=begins,
                    end_date=ends if ends < today else None,
                    note=f"{chief.base.name}总住院医师，负责病房夜间值班安排与危重患者会诊协调",
                    recorded_by=office,
                )
            )
    return posts


def _conduct(profiles: list[ResidentProfile], office: User | None) -> list[ConductRecord]:
    """Awards for about one in eight; one closed and one open disciplinary case in the whole hospital."""
    today = timezone.localdate()
    records = []
    for profile in profiles:
        rng = random.Random(f"{SEED}:award:{profile.user.username}")
        if profile.user.username != PERSONA and rng.random() > 0.12:
            continue
        kind, title, issuer = AWARDS[0] if profile.user.username == PERSONA else rng.choice(AWARDS)
        on = date(profile.cohort + 1, 12, rng.randint(10, 28))
        if on > today or on > profile.planned_end_date:
            on = date(profile.cohort, 12, rng.randint(10, 28))
        if on > today:
            continue
        records.append(
            ConductRecord(
                resident=profile, kind=kind, title=title, date=on, issuer=issuer,
                detail=f"{on.year}年度", recorded_by=office,
            )
        )  # fmt: skip
    pool = sorted(
        (p for p in profiles if p.user.username != PERSONA and p.cohort >= min(p.cohort for p in profiles) + 1),
        key=lambda p: p.user.username,
    )
    rng = random.Random(f"{SEED}:discipline")
    if len(pool) >= 2:
        closed, open_case = rng.sample(pool, k=2)
        records += [
            ConductRecord(
                resident=closed, kind=ConductKind.DISCIPLINE, title="无故缺勤两天，通报批评",
                date=min(date(closed.cohort + 1, 4, 10), today), issuer="住院医师规范化培训办公室",
                detail="本人已提交书面检查，缺勤时间已补足。", is_closed=True, recorded_by=office,
            ),
            ConductRecord(
                resident=open_case, kind=ConductKind.DISCIPLINE, title="病程记录复制粘贴，科室上报",
                date=min(date(open_case.cohort, 11, 18), today), issuer="医务部",
                detail="科室上报病程记录多处与他人雷同，住培办调查中；未结案前不得申请结业。",
                is_closed=False, recorded_by=office,
            ),
        ]  # fmt: skip
    return records


# ---------------------------------------------------------------- status histories
@dataclass(frozen=True)
class _Event:
    kind: str
    status: str
    effective: date
    decided: date
    reason: str
    extend_months: int = 0


def _histories(profiles: list[ResidentProfile], hospital: Hospital, office: User | None, today: date) -> list:
    """退培, 延期 and 休学 for one resident each, and 结业 for everyone whose planned end has passed."""
    if not profiles:
        return []
    oldest = min(p.cohort for p in profiles)
    open_cases = set(
        ConductRecord.objects.filter(resident__in=profiles, is_closed=False).values_list("resident", flat=True)
    )
    # the persona stays in training; office-holders and open cases are not the ones who leave or pause
    taken = {p.pk for p in profiles if p.user.username == PERSONA} | open_cases
    taken |= set(Post.objects.filter(resident__in=profiles).values_list("resident", flat=True))
    changed: set[int] = set()

    def pick(name: str, cohort: int, code: str, gender: str | None = None) -> ResidentProfile | None:
        pool = [
            p for p in profiles
            if p.pk not in taken and p.cohort == cohort and p.base.code == code and gender in (None, p.gender)
        ]  # fmt: skip
        if not pool:
            pool = [p for p in profiles if p.pk not in taken and p.cohort == cohort]
        if not pool:
            return None
        chosen = random.Random(f"{SEED}:{name}").choice(pool)
        taken.add(chosen.pk)
        changed.add(chosen.pk)
        return chosen

    second, third = oldest + 1, oldest + 2
    events: list[tuple[ResidentProfile, _Event]] = []
    for profile, event in (
        (pick("withdraw", second, "0900"), _Event(
            ChangeKind.WITHDRAW, TrainingStatus.WITHDRAWN, date(second + 1, 3, 31), date(second + 1, 3, 27),
            "本人考取公务员，申请退出住院医师规范化培训，已与医院签署退培协议。",
        )),
        (pick("extend", second, "0100"), _Event(
            ChangeKind.EXTEND, TrainingStatus.EXTENDED, date(second + 1, 8, 20), date(second + 1, 8, 18),
            "因病住院治疗，累计病假4个月，按规定延长培训时间6个月。", extend_months=6,
        )),
        (pick("suspend", third, "0100", Gender.FEMALE), _Event(
            ChangeKind.SUSPEND, TrainingStatus.SUSPENDED, date(third + 1, 3, 2), date(third + 1, 2, 26),
            "因妊娠分娩，申请休学一年，预计次年3月复学。",
        )),
    ):  # fmt: skip
        if profile is not None and event.decided <= today:
            events.append((profile, event))
    for profile in profiles:  # an open disciplinary case blocks completion
        if profile.pk not in changed | open_cases and profile.planned_end_date < today:
            reason = f"{profile.planned_end_date.year}年住院医师规范化培训结业考核合格，准予结业。"
            end = profile.planned_end_date
            events.append((profile, _Event(ChangeKind.COMPLETE, TrainingStatus.COMPLETED, end, end, reason)))

    directors = {
        a.base_id: a.user
        for a in RoleAssignment.objects.active_on()
        .filter(role=Role.BASE_DIRECTOR, base__hospital=hospital)
        .select_related("user")
        .order_by("-user_id")
    }
    changes, revisions, requested, decided = [], [], {}, {}
    for profile, event in events:
        before = {"status": profile.status, "status_since": profile.status_since}
        new_end = None
        if event.extend_months:
            before["planned_end_date"] = profile.planned_end_date
            months = profile.planned_end_date.month + event.extend_months
            first_after = date(profile.planned_end_date.year + (months - 1) // 12, (months - 1) % 12 + 1, 1)
            new_end = (first_after + timedelta(days=31)).replace(day=1) - timedelta(days=1)
            profile.planned_end_date = new_end
        profile.status, profile.status_since = event.status, event.effective
        after = {field: getattr(profile, field) for field in before}
        by_resident = event.kind != ChangeKind.COMPLETE
        change = TrainingChange(
            resident=profile,
            kind=event.kind,
            effective_date=event.effective,
            reason=event.reason,
            new_planned_end_date=new_end,
            state=ChangeState.APPROVED,
            applied_changes={f: [_json(before[f]), _json(after[f])] for f in before},
            requested_by=profile.user if by_resident else directors.get(profile.base_id, office),
            decided_at=_at(event.decided, 16),
        )
        changes.append(change)
        labels = {f: str(ResidentProfile._meta.get_field(f).verbose_name) for f in before}
        revisions.append(
            ArchiveRevision(
                resident=profile,
                changed_by=office,
                source=RevisionSource.APPROVAL,
                changes={labels[f]: [_display(f, before[f]), _display(f, after[f])] for f in before},
                note=f"{change.get_kind_display()}: {event.reason}"[:200],
            )
        )
    ResidentProfile.objects.bulk_update([p for p, _event in events], ["status", "status_since", "planned_end_date"])
    TrainingChange.objects.bulk_create(changes)
    ArchiveRevision.objects.bulk_create(revisions)
    for change, revision, (_profile, event) in zip(changes, revisions, events, strict=True):
        change.requested_at = _at(event.decided - timedelta(days=5 if event.kind != ChangeKind.COMPLETE else 0), 9)
        requested[change.pk] = change.requested_at
        decided[revision.pk] = _at(event.decided, 16)
    _set_times(TrainingChange, "requested_at", requested)
    _set_times(ArchiveRevision, "changed_at", decided)
    return changes


def _json(value):
    return value.isoformat() if isinstance(value, date) else value


def _enrollment_revisions(profiles: list[ResidentProfile], office: User | None) -> None:
    """The archive's first entry, as the enrollment import writes it, a week before training starts."""

    def label(name: str) -> str:
        return str(ResidentProfile._meta.get_field(name).verbose_name)

    revisions = []
    for profile in profiles:
        enrolled_end = _plus_years(profile.start_date, profile.training_years) - timedelta(days=1)  # before any 延期
        changes = {
            label("batch"): ["", str(profile.batch) if profile.batch else ""],
            label("base"): ["", profile.base.name],
            label("cohort"): ["", str(profile.cohort)],
            label("category"): ["", str(profile.get_category_display())],
            label("training_years"): ["", str(profile.training_years)],
            label("start_date"): ["", profile.start_date.isoformat()],
            label("planned_end_date"): ["", enrolled_end.isoformat()],
        }
        note = _("Enrolled from %(file)s") % {"file": f"{profile.cohort}年住院医师录取名单.xlsx"}
        revisions.append(
            ArchiveRevision(
                resident=profile, changed_by=office, source=RevisionSource.ENROLLMENT, changes=changes, note=note
            )
        )
    ArchiveRevision.objects.bulk_create(revisions, batch_size=500)
    for cohort in {p.cohort for p in profiles}:
        ArchiveRevision.objects.filter(
            resident__in=[p for p in profiles if p.cohort == cohort], source=RevisionSource.ENROLLMENT
        ).update(changed_at=_at(date(cohort, 8, 25), 9))


# ---------------------------------------------------------------- certificate files
CERTIFICATES = (
    # (username or None for "the n-th qualified resident", kind, title, extension)
    (PERSONA, CertificateKind.QUALIFICATION, "医师资格证书", "pdf"),
    (PERSONA, CertificateKind.DEGREE, "医学学士学位证书", "png"),
    (None, CertificateKind.QUALIFICATION, "医师资格证书", "pdf"),
    (None, CertificateKind.PRACTISING, "医师执业证书", "pdf"),
    (None, CertificateKind.DIPLOMA, "本科毕业证书", "png"),
    (None, CertificateKind.TRAINING, "基础生命支持（BLS）培训合格证书", "pdf"),
)


def _certificates(hospital: Hospital) -> int:
    """A handful of real files in the upload storage; -1 when some are missing and GridFS is down."""
    from django.conf import settings

    holders = list(
        ResidentProfile.objects.filter(base__hospital=hospital, has_qualification=True, practising_number__gt="")
        .exclude(user__username=PERSONA)
        .select_related("user")
        .order_by("user__username")[:4]
    )
    persona = ResidentProfile.objects.filter(user__username=PERSONA, base__hospital=hospital).first()
    wanted = []
    for n, (username, kind, title, extension) in enumerate(CERTIFICATES):
        profile = persona if username == PERSONA else (holders[n - 2] if n - 2 < len(holders) else None)
        if profile is not None and not Certificate.objects.filter(resident=profile, title=title).exists():
            wanted.append((profile, kind, title, extension))
    if not wanted:
        return 0
    if "GridFS" in settings.STORAGES["default"]["BACKEND"] and not (mongo.is_configured() and mongo.ping()):
        return -1
    for profile, kind, title, extension in wanted:
        issued = profile.qualification_date or profile.graduation_date or profile.start_date
        if kind in (CertificateKind.DEGREE, CertificateKind.DIPLOMA):
            issued = profile.graduation_date or issued
        elif kind == CertificateKind.TRAINING:
            issued = profile.start_date + timedelta(days=20)
        number = {
            CertificateKind.QUALIFICATION: profile.qualification_number,
            CertificateKind.PRACTISING: profile.practising_number,
        }.get(kind, "")
        if extension == "pdf":
            lines = [
                "Zhupei demo certificate",
                f"Kind: {kind}",
                f"Number: {number or '-'}",
                f"Issued on: {issued.isoformat()}",
                "Demo data, not a real document.",
            ]
            content, content_type = demo_pdf(lines), "application/pdf"
        else:
            colour = (178, 34, 34) if kind == CertificateKind.DEGREE else (30, 90, 160)
            content, content_type = demo_png(colour=colour), "image/png"
        upload = ContentFile(content)
        upload.content_type = content_type
        certificate = Certificate(
            resident=profile,
            kind=kind,
            title=title,
            number=number,
            issued_on=issued,
            original_name=f"{title}.{extension}",
            content_type=content_type,
            uploaded_by=profile.user,
        )
        try:
            certificate.file.save(f"{uuid.uuid4().hex}.{extension}", upload, save=False)
        except mongo.MongoUnavailable:
            return -1
        certificate.save()
    return len(wanted)


# ---------------------------------------------------------------- approval requests, once the workflow exists
def _approval_requests(changes: list[TrainingChange]) -> int:
    """The approved requests behind 退培/延期/休学, if the training-change workflow is registered.

    The engine's rows (request, submit and one approval per step) are written as the engine would
    leave them after the last approval; the archive fields were already applied above.
    """
    from django.contrib.contenttypes.models import ContentType

    from approvals import registry
    from approvals.choices import ActionKind, RequestStatus
    from approvals.models import ApprovalAction, ApprovalRequest
    from approvals.services import chain_for, step_approvers

    if TRAINING_WORKFLOW not in registry.workflows():
        return 0
    wanted = [c for c in changes if c.kind != ChangeKind.COMPLETE and c.pk is not None]
    if not wanted:
        return 0
    chain = chain_for(TRAINING_WORKFLOW)
    steps = list(chain.steps.order_by("order"))
    content_type = ContentType.objects.get_for_model(TrainingChange)
    made = 0
    for change in wanted:
        profile = change.resident
        request = ApprovalRequest.objects.create(
            workflow=TRAINING_WORKFLOW,
            chain=chain,
            title=_("%(change)s: %(name)s") % {"change": change.get_kind_display(), "name": profile.user.display_name},
            target_type=content_type,
            target_id=str(change.pk),
            submitter=change.requested_by or profile.user,
            subject=profile.user,
            base=profile.base,
            hospital=profile.base.hospital,
            context={"kind": change.kind},
            status=RequestStatus.APPROVED,
            decided_at=change.decided_at,
        )
        submitted = ApprovalAction.objects.create(
            request=request, actor=request.submitter, kind=ActionKind.SUBMIT, comment=change.reason
        )
        moments = {submitted.pk: change.requested_at}
        for order, step in enumerate(steps):
            if not step.applies_to(request.context):
                ApprovalAction.objects.create(request=request, step=step, kind=ActionKind.SKIP)
                continue
            approver = step_approvers(step, request).order_by("pk").first()
            action = ApprovalAction.objects.create(request=request, step=step, actor=approver, kind=ActionKind.APPROVE)
            # each step a day apart, the last one on the decision day
            moments[action.pk] = change.decided_at - timedelta(days=len(steps) - 1 - order)
            if approver is not None:
                request.invited.add(approver)
        _set_times(ApprovalAction, "created_at", moments)
        ApprovalRequest.objects.filter(pk=request.pk).update(submitted_at=change.requested_at)
        made += 1
    return made
