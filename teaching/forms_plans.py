"""Forms of the plan pages: an activity (date, start and end time, phone-friendly), a change after
approval, a cancellation, and the calendar's filters. Forms check shape; the services check the rules."""

import datetime

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, SpecialtyBase, User
from core.filters import StyledFilterSet

from .choices import Audience
from .models import Activity, ActivityType


class _Styled(forms.Form):
    """Bootstrap classes on every widget."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


class _When(_Styled):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label=_("Starts"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end = forms.TimeField(label=_("Ends"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def when(self) -> tuple[datetime.datetime, datetime.datetime]:
        tz = timezone.get_current_timezone()
        day = self.cleaned_data["date"]
        return (
            datetime.datetime.combine(day, self.cleaned_data["start"], tzinfo=tz),
            datetime.datetime.combine(day, self.cleaned_data["end"], tzinfo=tz),
        )

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("The end must be after the start."))
        return data

    @staticmethod
    def initial_for(activity: Activity) -> dict:
        start, end = timezone.localtime(activity.starts_at), timezone.localtime(activity.ends_at)
        return {"date": start.date(), "start": start.time(), "end": end.time()}


class ActivityForm(_When):
    title = forms.CharField(label=_("Title"), max_length=200)
    activity_type = forms.ModelChoiceField(label=_("Type"), queryset=ActivityType.objects.none())
    teacher = forms.ModelChoiceField(label=_("Teacher"), queryset=User.objects.none())
    place = forms.CharField(label=_("Place"), max_length=100)
    audience = forms.ChoiceField(label=_("Audience"), choices=Audience.choices, initial=Audience.DEPARTMENT)
    audience_base = forms.ModelChoiceField(
        label=_("Base"),
        queryset=SpecialtyBase.objects.none(),
        required=False,
        help_text=_("Only for the audience “a specialty base”; the department's base when empty."),
    )
    capacity = forms.IntegerField(label=_("Capacity"), min_value=1, max_value=1000, required=False)
    hours = forms.DecimalField(
        label=_("Credit hours"),
        max_digits=4,
        decimal_places=1,
        min_value=0,
        required=False,
        help_text=_("Empty: the type's credit hours."),
    )

    field_order = [
        "title",
        "activity_type",
        "teacher",
        "date",
        "start",
        "end",
        "place",
        "audience",
        "audience_base",
        "capacity",
        "hours",
    ]

    def __init__(self, *args, types, teachers, bases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["activity_type"].queryset = types
        self.fields["teacher"].queryset = teachers
        self.fields["teacher"].label_from_instance = lambda user: user.display_name
        self.fields["audience_base"].queryset = bases

    def values(self) -> dict:
        starts_at, ends_at = self.when()
        data = self.cleaned_data
        return {
            "title": data["title"],
            "activity_type": data["activity_type"],
            "teacher": data["teacher"],
            "starts_at": starts_at,
            "ends_at": ends_at,
            "place": data["place"],
            "audience": data["audience"],
            "audience_base": data.get("audience_base"),
            "capacity": data.get("capacity"),
            "hours": data.get("hours"),
        }

    @classmethod
    def initial_for(cls, activity: Activity) -> dict:
        return {
            **_When.initial_for(activity),
            "title": activity.title,
            "activity_type": activity.activity_type_id,
            "teacher": activity.teacher_id,
            "place": activity.place,
            "audience": activity.audience,
            "audience_base": activity.audience_base_id,
            "capacity": activity.capacity,
            "hours": activity.hours,
        }


class ChangeForm(_When):
    """After approval: time, teacher and place only."""

    teacher = forms.ModelChoiceField(label=_("Teacher"), queryset=User.objects.none())
    place = forms.CharField(label=_("Place"), max_length=100)

    def __init__(self, *args, teachers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teacher"].queryset = teachers
        self.fields["teacher"].label_from_instance = lambda user: user.display_name

    def values(self) -> dict:
        starts_at, ends_at = self.when()
        return {
            "starts_at": starts_at,
            "ends_at": ends_at,
            "teacher": self.cleaned_data["teacher"],
            "place": self.cleaned_data["place"],
        }


class CancelForm(_Styled):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class CalendarFilter(StyledFilterSet):
    department = django_filters.ModelChoiceFilter(label=_("Department"), queryset=Department.objects.all())
    activity_type = django_filters.ModelChoiceFilter(label=_("Type"), queryset=ActivityType.objects.all())
    teacher = django_filters.ModelChoiceFilter(label=_("Teacher"), queryset=User.objects.all())

    class Meta:
        model = Activity
        fields = ["department", "activity_type", "teacher"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        base = self.queryset.order_by()
        choices = {
            "department": Department.objects.filter(pk__in=base.values("department_id")).order_by("name"),
            "activity_type": ActivityType.objects.filter(pk__in=base.values("activity_type_id")),
            "teacher": User.objects.filter(pk__in=base.values("teacher_id")).order_by("real_name"),
        }
        for name, queryset in choices.items():
            self.filters[name].queryset = queryset
            self.filters[name].field.queryset = queryset
        self.filters["teacher"].field.label_from_instance = lambda user: user.display_name
