"""The base every list's FilterSet extends: Bootstrap widgets and self-explaining empty choices."""

import django_filters
from django import forms
from django_filters.conf import settings as filter_settings


class StyledFilterSet(django_filters.FilterSet):
    """Phone screens have no room for labels: a text input shows its label as placeholder and a
    select's blank choice shows its label instead of "---------"."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for filter_ in self.filters.values():
            field = filter_.field
            widget = field.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
                explicit = filter_.extra.get("empty_label") not in (None, filter_settings.EMPTY_CHOICE_LABEL)
                if isinstance(field, forms.ChoiceField | forms.ModelChoiceField) and not explicit:
                    field.empty_label = field.label
                    if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
                        field.choices = [("", field.label), *[c for c in field.choices if c[0] != ""]]
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")
                widget.attrs.setdefault("placeholder", field.label)
