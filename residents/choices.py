from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class PoliticalStatus(models.TextChoices):
    CPC_MEMBER = "cpc", _("CPC member")
    CPC_PROBATIONARY = "cpc_probationary", _("CPC probationary member")
    LEAGUE_MEMBER = "league", _("Communist Youth League member")
    DEMOCRATIC_PARTY = "democratic", _("Democratic party member")
    MASSES = "masses", _("Ordinary citizen")


class EducationLevel(models.TextChoices):
    JUNIOR_COLLEGE = "junior_college", _("Junior college")
    BACHELOR = "bachelor", _("Bachelor")
    MASTER = "master", _("Master")
    DOCTOR = "doctor", _("Doctorate")


class Degree(models.TextChoices):
    NONE = "none", _("No degree")
    BACHELOR = "bachelor", _("Bachelor of Medicine")
    MASTER = "master", _("Master of Medicine")
    DOCTOR = "doctor", _("Doctor of Medicine")


class DegreeType(models.TextChoices):
    ACADEMIC = "academic", _("Academic")
    PROFESSIONAL = "professional", _("Professional")


class TrainingCategory(models.TextChoices):
    """人员类型: who pays and where the resident goes afterwards."""

    OWN = "own", _("Hospital employee")
    ENTRUSTED = "entrusted", _("Entrusted by a sending unit")
    SOCIAL = "social", _("Independent (社会人)")
    MASTER = "master", _("Clinical master's student")


class TrainingStatus(models.TextChoices):
    IN_TRAINING = "in_training", _("In training")
    EXTENDED = "extended", _("Extended")
    SUSPENDED = "suspended", _("Suspended")
    WITHDRAWN = "withdrawn", pgettext_lazy("training status", "Withdrawn")
    COMPLETED = "completed", _("Completed")


class ChangeKind(models.TextChoices):
    """What a training change request does to the archive once approved."""

    WITHDRAW = "withdraw", _("Withdraw from training (退培)")
    EXTEND = "extend", _("Extend training (延期)")
    SUSPEND = "suspend", _("Suspend training (休学)")
    RESUME = "resume", _("Resume training (复学)")
    CHANGE_BASE = "change_base", _("Change of specialty base")
    CHANGE_COHORT = "change_cohort", _("Change of cohort")
    COMPLETE = "complete", _("Complete training (结业)")


class ChangeState(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved and applied")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ConductKind(models.TextChoices):
    AWARD = "award", _("Award")
    COMMENDATION = "commendation", _("Commendation")
    DISCIPLINE = "discipline", _("Disciplinary record")


class CertificateKind(models.TextChoices):
    QUALIFICATION = "qualification", _("Physician qualification certificate")
    PRACTISING = "practising", _("Practising certificate")
    DIPLOMA = "diploma", _("Diploma")
    DEGREE = "degree", _("Degree certificate")
    TRAINING = "training", _("Training certificate")
    OTHER = "other", _("Other")


class RevisionSource(models.TextChoices):
    SELF = "self", _("Edited by the resident")
    OFFICE = "office", _("Edited by the training office")
    BASE = "base", _("Edited by the specialty base")
    APPROVAL = "approval", _("Applied after approval")
    ENROLLMENT = "enrollment", _("Enrollment")


class BatchStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
