"""Form pieces every app needs the same way."""

from collections.abc import Iterable

from django import forms
from django.utils.translation import gettext as _

from .uploads import validate_upload


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern).

    With `allowed_extensions` each file is checked here like a single upload (type by content,
    size); without, the service that stores them checks each one.
    """

    def __init__(
        self,
        *args,
        allowed_extensions: Iterable[str] | None = None,
        max_bytes: int | None = None,
        max_files: int | None = None,
        **kwargs,
    ):
        self.allowed_extensions = tuple(allowed_extensions or ())
        self.max_bytes = max_bytes
        self.max_files = max_files
        accept = ",".join(f".{e}" for e in self.allowed_extensions) or ".pdf,.png,.jpg,.jpeg"
        kwargs.setdefault("widget", MultipleFileInput(attrs={"class": "form-control", "accept": accept}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        cleaned = [single(f, initial) for f in files if f]
        if self.max_files is not None and len(cleaned) > self.max_files:
            raise forms.ValidationError(_("At most %(max)s files.") % {"max": self.max_files})
        if self.allowed_extensions:
            for upload in cleaned:
                validate_upload(upload, allowed_extensions=self.allowed_extensions, max_bytes=self.max_bytes)
        return cleaned
