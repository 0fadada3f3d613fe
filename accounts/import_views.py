"""The three screens of the staff import: upload with preview, the template, and the confirm step.

Pages that show ID numbers (even masked) or initial passwords are never cached by the browser.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from core.permissions import RoleRequiredMixin

from . import imports
from .choices import ROLE_SCOPE, Role, ScopeKind


class _ImportAccess(LoginRequiredMixin, RoleRequiredMixin):
    required_roles = (Role.TRAINING_OFFICE, Role.SYSTEM_ADMIN)


def _start_page(request: HttpRequest, form: imports.WorkbookUploadForm, *, status: int = 200) -> HttpResponse:
    roles = [
        {"name": imports.ROLE_NAMES[r][0], "label": Role(r).label, "scope": ScopeKind(ROLE_SCOPE[r]).label}
        for r in imports.importable_roles(request.user)
    ]
    context = {"form": form, "columns": imports.COLUMNS, "roles": roles, "max_rows": imports.MAX_ROWS}
    return render(request, "accounts/import_start.html", context, status=status)


def _preview_page(request: HttpRequest, preview: imports.ImportPreview, *, token: str, filename: str) -> HttpResponse:
    context = {"preview": preview, "token": token, "filename": filename, "can_import": preview.valid_count > 0}
    return render(request, "accounts/import_preview.html", context)


@method_decorator(never_cache, name="dispatch")
class ImportStartView(_ImportAccess, View):
    """GET: the template link and the upload form. POST: read the file and show the preview."""

    def get(self, request):
        return _start_page(request, imports.WorkbookUploadForm())

    def post(self, request):
        form = imports.WorkbookUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return _start_page(request, form)
        upload = form.cleaned_data["file"]
        try:
            raw_rows = imports.read_workbook(upload.read())
        except imports.ImportFileError as exc:
            form.add_error("file", exc.message)
            return _start_page(request, form)
        preview = imports.validate_rows(raw_rows, acting_user=request.user)
        token = imports.pending_save(request.session, filename=upload.name, rows=raw_rows)
        return _preview_page(request, preview, token=token, filename=upload.name)


class TemplateDownloadView(_ImportAccess, View):
    def get(self, request):
        response = HttpResponse(
            imports.template_workbook(acting_user=request.user), content_type=imports.XLSX_CONTENT_TYPE
        )
        response["Content-Disposition"] = 'attachment; filename="staff-import-template.xlsx"'
        return response


@method_decorator(never_cache, name="dispatch")
class ImportConfirmView(_ImportAccess, View):
    """Check the parked rows again, then import all, only the valid ones when asked, or nothing."""

    def post(self, request):
        token = request.POST.get("token", "")
        pending = imports.pending_load(request.session, token)
        if pending is None:
            form = imports.WorkbookUploadForm()
            messages.error(
                request, _("There is no import waiting for confirmation, or it expired. Upload the file again.")
            )
            return _start_page(request, form)
        filename, raw_rows = pending
        preview = imports.validate_rows(raw_rows, acting_user=request.user)
        refusal = preview.confirm_refusal(valid_only=request.POST.get("valid_only") == "on")
        if refusal:
            messages.error(request, refusal)
            return _preview_page(request, preview, token=token, filename=filename)

        try:
            created = imports.staff_import_commit(
                rows=preview.valid_rows, acting_user=request.user, source=filename, skipped=preview.error_count
            )
        except IntegrityError:
            # Someone created one of these accounts between our check and the insert: nothing was written.
            preview = imports.validate_rows(raw_rows, acting_user=request.user)
            messages.error(
                request, _("The accounts changed while you were importing; nothing was imported. Check again.")
            )
            return _preview_page(request, preview, token=token, filename=filename)
        imports.pending_clear(request.session)
        password_rows = [
            {
                "user": account.user,
                "password": account.initial_password,
                "url": reverse("accounts:user_detail", args=[account.user.uuid]),
                "badges": account.role_labels,
            }
            for account in created
        ]
        context = {
            "created": created,
            "password_rows": password_rows,
            "skipped": preview.error_count,
            "filename": filename,
        }
        return render(request, "accounts/import_result.html", context)
