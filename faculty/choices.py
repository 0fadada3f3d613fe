from django.db import models
from django.utils.translation import gettext_lazy as _


class Title(models.TextChoices):
    """Professional title (职称), in rank order: `RANK` compares them."""

    RESIDENT_PHYSICIAN = "resident", _("Resident physician (住院医师)")
    ATTENDING = "attending", _("Attending physician (主治医师)")
    ASSOCIATE_CHIEF = "associate_chief", _("Associate chief physician (副主任医师)")
    CHIEF = "chief", _("Chief physician (主任医师)")


RANK: dict[str, int] = {t.value: i for i, t in enumerate(Title)}


class TrainingLevel(models.TextChoices):
    NATIONAL = "national", _("National")
    PROVINCIAL = "provincial", _("Provincial")
    MUNICIPAL = "municipal", _("Municipal")
    HOSPITAL = "hospital", _("Hospital")


class TeachingPostKind(models.TextChoices):
    SUPERVISOR = "supervisor", _("Supervising doctor (带教)")
    MENTOR = "mentor", _("Mentor (导师)")
    SECRETARY = "secretary", _("Teaching secretary (教学秘书)")
    TEACHING_DIRECTOR = "teaching_director", _("Teaching director (教学主任)")
    BASE_DIRECTOR = "base_director", _("Base director (基地主任)")
    OTHER = "other", _("Other")


class AssessmentResult(models.TextChoices):
    EXCELLENT = "excellent", _("Excellent")
    PASS = "pass", _("Pass")
    BASIC_PASS = "basic_pass", _("Basic pass")
    FAIL = "fail", _("Fail")


class AchievementKind(models.TextChoices):
    AWARD = "award", _("Teaching award")
    PAPER = "paper", _("Paper")
    PROJECT = "project", _("Research or teaching project")
    TEXTBOOK = "textbook", _("Textbook")
    OTHER = "other", _("Other")
