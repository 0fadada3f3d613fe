"""The file format of the admission list: sheet names, limits, columns and the words people type.

Like the staff import, the headers and the values people type (男/女, 委培单位人, 是/否)
are Chinese because the workbook is a form passed around the hospital; what we *say* about
the file goes through gettext.
"""

from django.utils.translation import gettext_lazy

from accounts.imports import EMAIL, ID_NUMBER, PHONE, REAL_NAME, Column

from ..choices import Degree, EducationLevel, Gender, TrainingCategory

SHEET_ROSTER = "录取名单"
SHEET_HELP = "说明"

#: A base admits a few dozen residents a year; a bigger file is almost always the wrong file.
MAX_ROWS = 1000

COLUMNS: tuple[Column, ...] = (
    REAL_NAME,
    Column("gender", "性别", True, gettext_lazy("男 or 女; must match the ID number."), 4),
    ID_NUMBER,
    PHONE,
    EMAIL,
    Column(
        "base",
        "专业基地",
        True,
        gettext_lazy("Name or code of a specialty base of this batch; see the sheet 说明."),
        100,
    ),
    Column("category", "人员类型", True, gettext_lazy("本单位人, 委培单位人, 社会人 or 专硕研究生."), 20),
    Column("sending_unit", "派送单位", False, gettext_lazy("Required for 委培单位人."), 100),
    Column("training_years", "培训年限", False, gettext_lazy("1, 2 or 3 years; 3 when left empty."), 4),
    Column("school", "毕业院校", False, gettext_lazy("Optional."), 100),
    Column("major", "毕业专业", False, gettext_lazy("Optional."), 100),
    Column("education_level", "学历", False, gettext_lazy("专科, 本科, 硕士研究生 or 博士研究生."), 20),
    Column("degree", "学位", False, gettext_lazy("无, 学士, 硕士 or 博士."), 20),
    Column("graduation_date", "毕业时间", False, gettext_lazy("A date such as 2026-06-30, or a month: 2026-06."), 20),
    Column("fresh_graduate", "是否应届", False, gettext_lazy("是 or 否; 否 when left empty."), 4),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}

#: The words people type for each choice. The first is the one the template lists.
GENDER_NAMES: dict[str, tuple[str, ...]] = {
    Gender.MALE: ("男", "男性", "M", "male"),
    Gender.FEMALE: ("女", "女性", "F", "female"),
}
CATEGORY_NAMES: dict[str, tuple[str, ...]] = {
    TrainingCategory.OWN: ("本单位人", "本单位", "单位人"),
    TrainingCategory.ENTRUSTED: ("委培单位人", "委培", "委托培养", "委派"),
    TrainingCategory.SOCIAL: ("社会人", "社会化", "面向社会"),
    TrainingCategory.MASTER: ("专硕研究生", "专硕", "专业学位硕士研究生", "临床医学硕士专业学位研究生"),
}
EDUCATION_NAMES: dict[str, tuple[str, ...]] = {
    EducationLevel.JUNIOR_COLLEGE: ("专科", "大专"),
    EducationLevel.BACHELOR: ("本科", "大学本科"),
    EducationLevel.MASTER: ("硕士研究生", "硕士", "研究生"),
    EducationLevel.DOCTOR: ("博士研究生", "博士"),
}
DEGREE_NAMES: dict[str, tuple[str, ...]] = {
    Degree.NONE: ("无", "无学位"),
    Degree.BACHELOR: ("学士", "医学学士", "学士学位"),
    Degree.MASTER: ("硕士", "医学硕士", "硕士学位"),
    Degree.DOCTOR: ("博士", "医学博士", "博士学位"),
}
YES_NAMES = ("是", "Y", "yes", "true", "1", "应届")
NO_NAMES = ("否", "N", "no", "false", "0", "往届")

TRAINING_YEARS = (1, 2, 3)
DEFAULT_TRAINING_YEARS = 3
