"""The upload form of every workbook import: one .xlsx file, refused early when it obviously is not one."""

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from .columns import XLSX_CONTENT_TYPE
from .workbook import ImportFileError, check_upload


class WorkbookUploadForm(forms.Form):
    """`label` names what the office fills in (the staff template, an admission list, ...)."""

    file = forms.FileField(
        label=gettext_lazy("Filled-in template (.xlsx)"),
        widget=forms.FileInput(attrs={"class": "form-control", "accept": f".xlsx,{XLSX_CONTENT_TYPE}"}),
    )

    def __init__(self, *args, label: str | Promise | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if label is not None:
            self.fields["file"].label = label

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            check_upload(name=upload.name, size=upload.size)
        except ImportFileError as exc:
            raise forms.ValidationError(exc.message) from None
        return upload
