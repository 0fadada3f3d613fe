"""What the faculty archive itself contributes to a teacher's timeline (other apps add theirs)."""

from datetime import date

from django.utils.translation import gettext as _

from core import timeline

from .models import Achievement, AnnualAssessment, FacultyTraining, SupervisorQualification, TeachingPost


@timeline.register(timeline.FACULTY, "trainings")
def trainings(profile, viewer):
    for training in FacultyTraining.objects.filter(faculty=profile):
        detail = training.get_level_display()
        if training.organiser:
            detail += " · " + training.organiser
        if training.hours is not None:
            detail += " · " + _("%(hours)s hours") % {"hours": training.hours}
        yield timeline.TimelineEntry(
            when=training.start_date,
            title=_("Faculty training: %(name)s") % {"name": training.name},
            detail=detail,
            kind="training",
            icon="mortarboard",
        )


@timeline.register(timeline.FACULTY, "qualification")
def qualifications(profile, viewer):
    for qualification in SupervisorQualification.objects.filter(faculty=profile).select_related("granted_by"):
        detail = _("valid until %(date)s") % {"date": qualification.expires_on} if qualification.expires_on else ""
        if qualification.granted_by_id:
            detail += (" · " if detail else "") + _("granted by %(name)s") % {
                "name": qualification.granted_by.display_name
            }
        yield timeline.TimelineEntry(
            when=qualification.granted_on,
            title=_("Supervisor qualification granted"),
            detail=detail,
            kind="qualification",
            icon="patch-check",
        )
        if qualification.revoked_on:
            yield timeline.TimelineEntry(
                when=qualification.revoked_on,
                title=_("Supervisor qualification revoked"),
                detail=qualification.note,
                kind="qualification",
                icon="patch-minus",
            )


@timeline.register(timeline.FACULTY, "assessments")
def assessments(profile, viewer):
    for assessment in AnnualAssessment.objects.filter(faculty=profile):
        detail = assessment.get_result_display()
        if assessment.score is not None:
            detail += " · " + _("score %(score)s") % {"score": assessment.score}
        yield timeline.TimelineEntry(
            # the assessment of a year is made at its end
            when=assessment_day(assessment.year),
            title=_("Annual teaching assessment %(year)s") % {"year": assessment.year},
            detail=detail,
            kind="assessment",
            icon="clipboard-check",
        )


@timeline.register(timeline.FACULTY, "achievements")
def achievements(profile, viewer):
    for achievement in Achievement.objects.filter(faculty=profile):
        detail = " · ".join(part for part in (str(achievement.get_kind_display()), achievement.level) if part)
        yield timeline.TimelineEntry(
            when=achievement.date, title=achievement.title, detail=detail, kind="achievement", icon="award"
        )


@timeline.register(timeline.FACULTY, "posts")
def posts(profile, viewer):
    for post in TeachingPost.objects.filter(faculty=profile).select_related("department", "base"):
        where = post.department or post.base
        title = _("Took up the post of %(post)s") % {"post": post.get_kind_display()}
        detail = str(where) if where else ""
        if post.end_date:
            detail += (" · " if detail else "") + _("until %(date)s") % {"date": post.end_date}
        yield timeline.TimelineEntry(when=post.start_date, title=title, detail=detail, kind="post", icon="briefcase")


def assessment_day(year: int) -> date:
    return date(year, 12, 31)
