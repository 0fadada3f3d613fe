"""The file format: sheet names, limits, the columns of the account sheet and the role names people type."""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from ..choices import Role

# --- the file format -------------------------------------------------------------------------

#: Sheet names are part of the format the office knows; the first sheet holds the accounts.
SHEET_ACCOUNTS = "账号"
SHEET_HELP = "说明"
SHEET_ORG = "科室与专业基地"

#: A staff import is a few hundred people; a bigger file is almost always the wrong file.
MAX_ROWS = 2000


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    help: Promise
    max_length: int = 0
    #: text-formatted in the template, so Excel does not turn 18-digit numbers into 1.1E+17
    as_text: bool = False


#: The person columns both imports ask for; check_cells() knows the ID number, phone and email by their keys.
REAL_NAME = Column("real_name", "姓名", True, gettext_lazy("Real name."), 50)
ID_NUMBER = Column(
    "id_number",
    "身份证号",
    True,
    gettext_lazy("18-character resident ID number; the check digit is verified."),
    18,
    as_text=True,
)
PHONE = Column("phone", "手机号", True, gettext_lazy("11-digit mainland mobile number."), 11, as_text=True)
EMAIL = Column("email", "邮箱", False, gettext_lazy("Optional."), 254)

COLUMNS: tuple[Column, ...] = (
    Column("staff_number", "工号", True, gettext_lazy("Unique staff number."), 32, as_text=True),
    REAL_NAME,
    ID_NUMBER,
    PHONE,
    EMAIL,
    Column(
        "roles",
        "角色",
        True,
        gettext_lazy("One or more roles from the list below, separated by 、 or a comma."),
        200,
    ),
    Column(
        "department",
        "科室",
        False,
        gettext_lazy("Department name or code; required for roles held in a department."),
        100,
    ),
    Column(
        "base",
        "专业基地",
        False,
        gettext_lazy("Specialty base name or code; required for roles held in a base."),
        100,
    ),
    Column("username", "用户名", False, gettext_lazy("Optional; the staff number when left empty."), 150),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}

#: The names people type for each role. The first name of each role is the one the template lists.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    Role.SUPERVISOR: ("带教医师", "带教老师", "带教"),
    Role.TEACHING_SECRETARY: ("教学秘书", "科室教学秘书"),
    Role.DEPARTMENT_HEAD: ("科主任", "科室主任"),
    Role.ATTENDANCE_CLERK: ("考勤员",),
    Role.BASE_DIRECTOR: ("专业基地负责人", "基地负责人", "专业基地主任", "基地主任"),
    Role.BASE_SECRETARY: ("基地秘书", "专业基地秘书"),
    Role.MENTOR: ("责任导师", "导师"),
    Role.TRAINING_OFFICE: ("培训管理部门", "培训管理"),
    Role.SYSTEM_ADMIN: ("系统管理员",),
    Role.AUDITOR: ("审计员",),
}
#: Separation of duties (三员分立): only a system administrator creates administrators and auditors.
ADMIN_ONLY_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.AUDITOR})
