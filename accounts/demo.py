"""Demo data for accounts: 华东示范大学附属第一医院, its sites, bases, departments and people.

Deterministic: every name, ID number and phone comes from one `random.Random(SEED)` drawn in a fixed
order, and every date is fixed. Idempotent: hospitals, bases and departments are matched on their
codes, people on their usernames, role assignments on (user, role, scope, valid_until); only what is
missing is created, so running `manage.py seed_demo` again changes nothing.

Speed: users and role assignments are bulk-created, and the demo password is hashed once and the
hash shared by every demo account (hashing ~500 passwords one by one would take minutes).
"""

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.utils import timezone

from core.audit import audit_record
from core.demo import register

from .choices import Role, SiteKind, UserStatus
from .models import Department, Hospital, RoleAssignment, SpecialtyBase, User
from .services import registration_submit
from .validators import id_number_check_digit

DEMO_PASSWORD = "Zhupei@2025"
SEED = 20250901
PROGRAMS_FILE = Path(__file__).resolve().parent / "data" / "rotation_programs.yaml"

#: The accounts the README and the login page show; all share the demo password.
PERSONAS = ("resident", "supervisor", "secretary", "head", "clerk", "director", "office", "sysadmin", "auditor")

HOSPITAL = {"code": "demo", "name": "华东示范大学附属第一医院", "short_name": "示范一院"}
#: 协同单位 and the departments residents rotate through there (内科 sends 感染科 and 风湿免疫科 out).
SITES = (
    {
        "code": "demo-2",
        "name": "华东示范市第二人民医院",
        "short_name": "示范二院",
        "prefix": "h2",
        "departments": ("INFD", "RHEU"),
    },
    {
        "code": "demo-county",
        "name": "示范县人民医院",
        "short_name": "示范县医院",
        "prefix": "cty",
        "departments": ("PRIM", "EMER"),
    },
)

#: Residents enrol on 1 September of their cohort year (a later issue adds the resident archive).
COHORTS = {2023: 48, 2024: 50, 2025: 52}
#: Relative size of each base's yearly intake; 内科 enrols most.
BASE_WEIGHTS = {"0100": 12, "0900": 9, "0700": 8, "0200": 6, "1600": 5, "1900": 4, "0300": 3, "0600": 3}
STAFF_SINCE = date(2020, 9, 1)
#: The department of the department-level personas, and the base of `resident` and `director`.
PERSONA_DEPARTMENT = "CARD"
PERSONA_BASE = "0100"

# ---------------------------------------------------------------- names and identifiers
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛")
GIVEN_MALE = "伟强磊军勇杰涛明超斌鹏辉刚浩宇俊峰晨博文建志海华亮飞凯然宏健旭阳林波鑫昊轩航泽睿晗天嘉逸诚哲远康毅"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪琳洁颖慧倩蕾欣怡瑶佳璐萍晶丹莉梦雨菲悦彤妍诗涵琪宁薇晓雅思心可岚婧"
#: Real county-level codes (GB/T 2260), mostly East China, where the hospital draws its people from.
REGIONS = tuple(
    "310101 310104 310115 320102 320106 320205 320506 320583 320602 321002 330102 330106 330203 330302 330402"
    " 330602 340102 340104 340202 350102 350203 360102 370102 370202 110101 110105 420102 430102 410105 510104".split()
)
PHONE_PREFIXES = tuple(
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 177 180 181 182 185 186 187 188 189"
    " 199".split()
)


@dataclass
class Person:
    username: str
    real_name: str
    id_number: str
    phone: str
    staff_number: str
    #: (role, scope, valid_from): scope is {"hospital": h} | {"base": b} | {"department": d}
    roles: list[tuple[str, dict[str, Any], date]] = field(default_factory=list)


class PersonMaker:
    """Realistic, unique names, ID numbers and phones from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.names: set[str] = set()
        self.id_numbers: set[str] = set()
        self.phones: set[str] = set()
        self.staff_seq = 0

    def name(self, male: bool) -> str:
        chars = GIVEN_MALE if male else GIVEN_FEMALE
        while True:
            surname = self.rng.choice(COMPOUND_SURNAMES) if self.rng.random() < 0.01 else self.rng.choice(SURNAMES)
            given = "".join(self.rng.choice(chars) for _ in range(1 if self.rng.random() < 0.3 else 2))
            if surname + given not in self.names:
                self.names.add(surname + given)
                return surname + given

    def id_number(self, born_from: int, born_to: int, male: bool) -> str:
        """GB 11643: region, birth date, 3-digit sequence (odd for men), check digit."""
        while True:
            born = date.fromordinal(
                self.rng.randint(date(born_from, 1, 1).toordinal(), date(born_to, 12, 31).toordinal())
            )
            sequence = self.rng.randint(0, 99) * 10 + self.rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
            first17 = f"{self.rng.choice(REGIONS)}{born:%Y%m%d}{sequence:03d}"
            number = first17 + id_number_check_digit(first17)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number

    def phone(self) -> str:
        while True:
            number = self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def person(self, username: str, born: tuple[int, int], staff_number: str | None = None) -> Person:
        male = self.rng.random() < 0.5
        if staff_number is None:
            self.staff_seq += 1
            staff_number = f"ZP{self.staff_seq:05d}"
        return Person(
            username=username,
            real_name=self.name(male),
            id_number=self.id_number(*born, male=male),
            phone=self.phone(),
            staff_number=staff_number,
        )


# ---------------------------------------------------------------- organisation from the programme file
@cache
def load_programs() -> dict[str, Any]:
    import yaml  # only seed_demo needs PyYAML; keep it out of every process's start-up

    with PROGRAMS_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def department_bases(data: dict[str, Any]) -> dict[str, str | None]:
    """Department code -> code of the programme (base) that administers it, by the first rule that applies:

    1. a programme with the department's own name (麻醉科 -> 1900 麻醉科);
    2. a sub-unit follows its parent (普外科麻醉 -> 麻醉科);
    3. a unit that another department's alias includes follows it (心血管内科（含心电图室） takes 心电图室);
    4. the programme that requires the most months there, mandatory before elective, ties in file order;
    5. otherwise none.
    """
    departments = {d["code"]: d for d in data["departments"]}
    by_name = {d["name"]: d["code"] for d in data["departments"]}
    programs = {p["name"]: p["code"] for p in data["programs"]}
    included_in = {
        code: host["code"]
        for host in data["departments"]
        for alias in host.get("aka", [])
        if "含" in alias
        for name, code in by_name.items()
        if name in alias.split("含", 1)[1]
    }
    months: dict[str, list[tuple[int, int, int, str]]] = {}
    for order, program in enumerate(data["programs"]):
        for req in program["requirements"]:
            if "department" in req:
                months.setdefault(by_name[req["department"]], []).append((req["months"], 0, -order, program["code"]))
            else:
                for name in req["from"]:
                    months.setdefault(by_name[name], []).append((0, req["months_each"], -order, program["code"]))

    @cache
    def base_of(code: str) -> str | None:
        department = departments[code]
        if department["name"] in programs:
            return programs[department["name"]]
        if department.get("parent"):
            return base_of(department["parent"])
        if code in included_in:
            return base_of(included_in[code])
        return max(months[code])[3] if code in months else None

    return {code: base_of(code) for code in departments}


@dataclass
class Org:
    hospital: Hospital
    sites: list[Hospital]
    bases: dict[str, SpecialtyBase]  # by programme code
    departments: list[Department]  # main hospital first, then the sites' units


def seed_org(data: dict[str, Any]) -> Org:
    hospital, _ = Hospital.objects.update_or_create(
        code=HOSPITAL["code"],
        defaults={"name": HOSPITAL["name"], "short_name": HOSPITAL["short_name"], "kind": SiteKind.MAIN},
    )
    sites = [
        Hospital.objects.update_or_create(
            code=site["code"],
            defaults={
                "name": site["name"],
                "short_name": site["short_name"],
                "kind": SiteKind.COLLABORATING,
                "parent": hospital,
            },
        )[0]
        for site in SITES
    ]
    bases = {
        p["code"]: SpecialtyBase.objects.update_or_create(
            hospital=hospital, code=p["code"], defaults={"name": p["name"], "name_en": p["name_en"]}
        )[0]
        for p in data["programs"]
    }
    base_codes = department_bases(data)
    specs = [(hospital, d) for d in data["departments"]]
    by_code = {d["code"]: d for d in data["departments"]}
    specs += [(site, by_code[code]) for site, spec in zip(sites, SITES, strict=True) for code in spec["departments"]]
    departments: list[Department] = []
    for site, d in specs:  # parents are listed before their sub-units in the file
        parent = d.get("parent")
        department, _ = Department.objects.update_or_create(
            hospital=site,
            code=d["code"],
            defaults={
                "name": d["name"],
                "name_en": d.get("name_en", ""),
                "base": bases.get(base_codes[d["code"]]),
                "parent": next((x for x in departments if x.code == parent and x.hospital_id == site.pk), None),
            },
        )
        departments.append(department)
    return Org(hospital=hospital, sites=sites, bases=bases, departments=departments)


# ---------------------------------------------------------------- people
def _intake(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Split `total` over the bases in proportion to their weights (largest remainder)."""
    whole = sum(weights.values())
    shares = {code: total * w / whole for code, w in weights.items()}
    counts = {code: int(s) for code, s in shares.items()}
    for code in sorted(shares, key=lambda c: counts[c] - shares[c])[: total - sum(counts.values())]:
        counts[code] += 1
    return counts


def build_people(org: Org, make: PersonMaker) -> list[Person]:
    """Everyone in the demo hospital, in a fixed order so the generator's draws never shift."""
    rng = make.rng
    people: list[Person] = []
    staff_born = (1966, 1992)

    # residents: three cohorts spread over the bases
    for year, size in COHORTS.items():
        number = 0
        for base_code, count in _intake(size, BASE_WEIGHTS).items():
            for n in range(1, count + 1):
                number += 1
                persona = year == 2024 and base_code == PERSONA_BASE and n == 1
                person = make.person(
                    "resident" if persona else f"r{year}{number:03d}",
                    born=(year - 27, year - 23),
                    staff_number=f"{year}{base_code}{n:03d}",
                )
                person.roles.append((Role.RESIDENT, {"base": org.bases[base_code]}, date(year, 9, 1)))
                people.append(person)

    # departments: 2-3 supervisors of whom one is the head and perhaps one the teaching secretary, the
    # secretary, an attendance clerk
    supervisors_by_base: dict[int, list[Person]] = {}
    for department in org.departments:
        persona = department.code == PERSONA_DEPARTMENT and department.hospital_id == org.hospital.pk
        site_prefix = next(
            (s["prefix"] + "." for s, h in zip(SITES, org.sites, strict=True) if h.pk == department.hospital_id), ""
        )
        stem = f"{site_prefix}{department.code.lower()}"
        scope = {"department": department}
        head = make.person("head" if persona else f"{stem}.head", born=staff_born)
        head.roles += [(Role.DEPARTMENT_HEAD, scope, STAFF_SINCE), (Role.SUPERVISOR, scope, STAFF_SINCE)]
        supervisors = [head]
        for k in range(2, 2 + rng.randint(1, 2)):
            supervisor = make.person("supervisor" if persona and k == 2 else f"{stem}.s{k}", born=staff_born)
            supervisor.roles.append((Role.SUPERVISOR, scope, STAFF_SINCE))
            supervisors.append(supervisor)
        secretary = make.person("secretary" if persona else f"{stem}.sec", born=(1980, 1995))
        secretary.roles.append((Role.TEACHING_SECRETARY, scope, STAFF_SINCE))
        if not persona and len(supervisors) == 2 and rng.random() < 0.5:  # some secretaries also supervise
            secretary.roles.append((Role.SUPERVISOR, scope, STAFF_SINCE))
            supervisors.append(secretary)
        else:
            people.append(secretary)
        clerk = make.person("clerk" if persona else f"{stem}.clerk", born=(1975, 2000))
        clerk.roles.append((Role.ATTENDANCE_CLERK, scope, STAFF_SINCE))
        people += [*supervisors, clerk]
        if department.base_id and department.hospital_id == org.hospital.pk:
            candidates = [p for p in supervisors if p.username not in PERSONAS]
            supervisors_by_base.setdefault(department.base_id, []).extend(candidates)

    # bases: a director, a secretary, and 2-3 mentors chosen from the base's supervisors
    for code, base in org.bases.items():
        scope = {"base": base}
        director = make.person("director" if code == PERSONA_BASE else f"b{code}.director", born=(1962, 1980))
        director.roles.append((Role.BASE_DIRECTOR, scope, STAFF_SINCE))
        secretary = make.person(f"b{code}.sec", born=(1982, 1996))
        secretary.roles.append((Role.BASE_SECRETARY, scope, STAFF_SINCE))
        people += [director, secretary]
        candidates = supervisors_by_base.get(base.pk, [])
        for mentor in rng.sample(candidates, k=min(len(candidates), rng.randint(2, 3))):
            mentor.roles.append((Role.MENTOR, scope, STAFF_SINCE))

    # the hospital: training office, system administrator, auditor
    hospital = {"hospital": org.hospital}
    for username, role in (
        ("office", Role.TRAINING_OFFICE),
        ("office2", Role.TRAINING_OFFICE),
        ("office3", Role.TRAINING_OFFICE),
        ("sysadmin", Role.SYSTEM_ADMIN),
        ("auditor", Role.AUDITOR),
    ):
        person = make.person(username, born=(1970, 1992))
        person.roles.append((role, hospital, STAFF_SINCE))
        people.append(person)
    return people


def build_applicants(org: Org, make: PersonMaker) -> list[tuple[Person, SpecialtyBase]]:
    """This year's applicants, waiting in the training office's inbox."""
    return [
        (make.person(f"applicant{n}", born=(1998, 2002), staff_number=""), org.bases[code])
        for n, code in enumerate(("0100", "0900", "0200", "0700", "1600"), start=1)
    ]


def _reset_passwords(usernames: list[str], password: str, password_hash: str) -> int:
    """Give existing demo accounts the demo password again, if `resident` no longer has it (one check, not 500)."""
    probe = User.objects.filter(username="resident").only("password").first()
    if probe is None or check_password(password, probe.password):
        return 0
    demo_users = User.objects.filter(username__in=usernames)
    return demo_users.update(password=password_hash, password_changed_at=timezone.now())


def save_people(people: Iterable[Person], password_hash: str) -> int:
    """Create the users and role assignments that are missing; existing users are left as they are."""
    people = list(people)
    usernames = [p.username for p in people]
    existing = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    now = timezone.now()
    users = []
    for person in people:
        if person.username in existing:
            continue
        user = User(
            username=person.username,
            real_name=person.real_name,
            phone=person.phone,
            staff_number=person.staff_number,
            email=f"{person.username}@example.com",
            status=UserStatus.ACTIVE,
            is_active=True,
            password=password_hash,
            password_changed_at=now,
        )
        user.id_number = person.id_number
        users.append(user)
    User.objects.bulk_create(users, batch_size=500)

    ids = dict(User.objects.filter(username__in=usernames).values_list("username", "pk"))
    keys = set(
        RoleAssignment.objects.filter(user_id__in=ids.values()).values_list(
            "user_id", "role", "hospital_id", "base_id", "department_id", "valid_until"
        )
    )
    assignments = []
    for assignment in _assignments(people, ids):
        key = (
            assignment.user_id,
            assignment.role,
            assignment.hospital_id,
            assignment.base_id,
            assignment.department_id,
            assignment.valid_until,
        )
        if key not in keys:
            keys.add(key)
            assignments.append(assignment)
    RoleAssignment.objects.bulk_create(assignments, batch_size=500)
    return len(users)


def _assignments(people: list[Person], ids: dict[str, int]) -> Iterator[RoleAssignment]:
    for person in people:
        for role, scope, valid_from in person.roles:
            yield RoleAssignment(user_id=ids[person.username], role=role, valid_from=valid_from, **scope)


@register("accounts", order=10)
def seed_accounts(*, stdout=None, password: str = DEMO_PASSWORD) -> None:
    """The demo hospital, its sites, bases and departments, ~530 people, and 5 pending registrations."""
    make = PersonMaker(random.Random(SEED))
    org = seed_org(load_programs())
    people = build_people(org, make)
    applicants = build_applicants(org, make)

    password_hash = make_password(password)  # once: every demo account shares this hash
    reset = _reset_passwords([p.username for p in people], password, password_hash)
    created = save_people(people, password_hash)

    existing = set(
        User.objects.filter(username__in=[p.username for p, _ in applicants]).values_list("username", flat=True)
    )
    for person, base in applicants:
        if person.username not in existing:
            registration_submit(
                username=person.username,
                password=password,
                real_name=person.real_name,
                id_number=person.id_number,
                phone=person.phone,
                email=f"{person.username}@example.com",
                base=base,
            )
    if created or reset:
        audit_record(action="demo.seed", target=org.hospital, created=created, password_reset=reset)
    if reset and stdout is not None:
        stdout.write(f"  reset the password of {reset} demo accounts")
