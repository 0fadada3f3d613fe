"""Enrollment screens: batches and quotas, the admission-list import, accepting registrations, the export.

The list and "open a batch" belong to the training office (others: 403). A batch is an
object in the office's hospital: outside that scope it does not exist (404). Pages that
show ID numbers (even masked) or initial passwords are never cached by the browser.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import IntegrityError
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import ListView

from accounts import imports
from accounts.choices import Role
from accounts.models import Hospital, SpecialtyBase
from core.permissions import RoleRequiredMixin, ScopedObjectMixin, visible

from . import enrollment
from .exports import export_residents
from .forms_enrollment import ADMISSION_LIST_LABEL, AcceptForm, BatchForm
from .models import EnrollmentBatch, EnrollmentQuota, ResidentProfile


def _office_hospitals(user) -> list[Hospital]:
    return list(Hospital.objects.filter(pk__in=user.scope.hospitals(Role.TRAINING_OFFICE)).order_by("kind", "code"))


def _session_key(batch: EnrollmentBatch) -> str:
    """One parked file per batch, so a token of one batch never confirms into another."""
    return f"residents.enrollment.{batch.uuid}"


class _OfficeAccess(LoginRequiredMixin, RoleRequiredMixin):
    required_roles = (Role.TRAINING_OFFICE,)


class _BatchView(LoginRequiredMixin, ScopedObjectMixin, View):
    """Looks the batch up inside the user's scope (else 404) and checks `permission_action` (else 403)."""

    model = EnrollmentBatch

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.batch = self.get_object()
        return super().dispatch(request, *args, **kwargs)

    def detail_url(self) -> str:
        return reverse("residents:batch_detail", args=[self.batch.uuid])

    def refuse_if_closed(self, request) -> HttpResponse | None:
        if self.batch.is_open:
            return None
        messages.error(request, _("This batch is closed; open it again to enroll residents."))
        return redirect(self.detail_url())


# --- batches ---------------------------------------------------------------------------------


class BatchListView(_OfficeAccess, ListView):
    template_name = "residents/enrollment/batch_list.html"
    context_object_name = "batches"
    paginate_by = 20

    def get_queryset(self):
        quota_total = (
            EnrollmentQuota.objects.filter(batch=OuterRef("pk")).values("batch").annotate(s=Sum("quota")).values("s")
        )
        base_count = (
            EnrollmentQuota.objects.filter(batch=OuterRef("pk")).values("batch").annotate(c=Count("pk")).values("c")
        )
        enrolled = (
            ResidentProfile.objects.filter(batch=OuterRef("pk")).values("batch").annotate(c=Count("pk")).values("c")
        )
        return (
            visible(self.request.user, EnrollmentBatch)
            .select_related("hospital")
            .annotate(
                quota_total=Coalesce(Subquery(quota_total, output_field=IntegerField()), 0),
                base_count=Coalesce(Subquery(base_count, output_field=IntegerField()), 0),
                enrolled=Coalesce(Subquery(enrolled, output_field=IntegerField()), 0),
            )
            .order_by("-year", "-opened_at", "pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        counts = visible(self.request.user, EnrollmentBatch).aggregate(
            total=Count("pk"), open=Count("pk", filter=Q(status="open"))
        )
        return {**context, "counts": counts}


class BatchCreateView(_OfficeAccess, View):
    template_name = "residents/enrollment/batch_form.html"

    def _form(self, data=None) -> BatchForm:
        hospitals = _office_hospitals(self.request.user)
        bases = (
            SpecialtyBase.objects.filter(hospital__in=hospitals, is_active=True)
            .select_related("hospital")
            .order_by("hospital__kind", "hospital__code", "code")
        )
        return BatchForm(data, hospitals=hospitals, bases=bases)

    def get(self, request):
        return render(request, self.template_name, {"form": self._form()})

    def post(self, request):
        form = self._form(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form})
        data = form.cleaned_data
        try:
            batch = enrollment.batch_open(
                hospital=form.hospital,
                year=data["year"],
                name=data["name"],
                start_date=data["start_date"],
                note=data["note"],
                quotas=form.quotas,
                acting_user=request.user,
            )
        except IntegrityError:
            form.add_error("name", _("A batch of this year has this name already."))
            return render(request, self.template_name, {"form": form})
        messages.success(request, _("The batch %(batch)s is open.") % {"batch": batch})
        return redirect("residents:batch_detail", uuid=batch.uuid)


class BatchDetailView(_BatchView):
    def get(self, request, uuid):
        batch = self.batch
        lines = enrollment.quota_lines(batch)
        residents = list(enrollment.batch_residents(batch))
        by_base: dict[int, list[ResidentProfile]] = {}
        for profile in residents:
            by_base.setdefault(profile.base_id, []).append(profile)
        in_batch = {line.base.pk for line in lines}
        # Residents whose base changed after enrollment stay listed, under their base now.
        others = [p for p in residents if p.base_id not in in_batch]
        context = {
            "batch": batch,
            "lines": [(line, by_base.get(line.base.pk, [])) for line in lines],
            "others": others,
            "total_quota": sum(line.quota for line in lines),
            "total_enrolled": len(residents),
            "pending_count": len(enrollment.pending_registrations(batch)),
        }
        return render(request, "residents/enrollment/batch_detail.html", context)


class BatchEditView(_BatchView):
    permission_action = "manage"
    template_name = "residents/enrollment/batch_form.html"

    def _form(self, data=None) -> BatchForm:
        batch = self.batch
        quotas = dict(batch.quotas.values_list("base_id", "quota"))
        bases = (
            SpecialtyBase.objects.filter(Q(hospital=batch.hospital, is_active=True) | Q(pk__in=list(quotas)))
            .select_related("hospital")
            .order_by("code")
        )
        return BatchForm(
            data,
            instance=batch,
            hospitals=[batch.hospital],
            bases=bases,
            quotas=quotas,
            enrolled=enrollment.enrolled_counts(batch),
        )

    def get(self, request, uuid):
        return render(request, self.template_name, {"form": self._form(), "batch": self.batch})

    def post(self, request, uuid):
        form = self._form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                changes = enrollment.batch_update(
                    batch=self.batch,
                    name=data["name"],
                    start_date=data["start_date"],
                    note=data["note"],
                    quotas=form.quotas,
                    acting_user=request.user,
                )
            except enrollment.EnrollmentError as exc:
                form.add_error(None, exc.message)
            except IntegrityError:
                form.add_error("name", _("A batch of this year has this name already."))
            else:
                if changes:
                    messages.success(request, _("The batch was saved."))
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect(self.detail_url())
        return render(request, self.template_name, {"form": form, "batch": self.batch})


class BatchCloseView(_BatchView):
    """POST: close an open batch, or open a closed one again."""

    permission_action = "manage"
    http_method_names = ["post"]

    def post(self, request, uuid):
        batch = enrollment.batch_toggle(batch=self.batch, acting_user=request.user)
        if batch.is_open:
            messages.success(request, _("The batch is open again."))
        else:
            messages.success(request, _("The batch is closed; it takes no more residents."))
        return redirect(self.detail_url())


# --- the import ------------------------------------------------------------------------------


class ImportTemplateView(_BatchView):
    permission_action = "import"

    def get(self, request, uuid):
        response = HttpResponse(enrollment.template_workbook(self.batch), content_type=imports.XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="enrollment-{self.batch.year}-template.xlsx"'
        return response


@method_decorator(never_cache, name="dispatch")
class ImportStartView(_BatchView):
    """GET: the template link and the upload form. POST: read the file and show the preview."""

    permission_action = "import"

    def _form(self, data=None, files=None) -> imports.WorkbookUploadForm:
        return imports.WorkbookUploadForm(data, files, label=ADMISSION_LIST_LABEL)

    def _start_page(self, request: HttpRequest, form: imports.WorkbookUploadForm) -> HttpResponse:
        context = {
            "batch": self.batch,
            "form": form,
            "columns": enrollment.COLUMNS,
            "lines": enrollment.quota_lines(self.batch),
            "max_rows": enrollment.MAX_ROWS,
        }
        return render(request, "residents/enrollment/import_start.html", context)

    def get(self, request, uuid):
        return self._start_page(request, self._form())

    def post(self, request, uuid):
        refused = self.refuse_if_closed(request)
        if refused:
            return refused
        form = self._form(request.POST, request.FILES)
        if not form.is_valid():
            return self._start_page(request, form)
        upload = form.cleaned_data["file"]
        try:
            raw_rows = enrollment.read_roster(upload.read())
        except imports.ImportFileError as exc:
            form.add_error("file", exc.message)
            return self._start_page(request, form)
        preview = enrollment.validate_rows(raw_rows, batch=self.batch)
        token = imports.pending_save(request.session, filename=upload.name, rows=raw_rows, key=_session_key(self.batch))
        return _preview_page(request, self.batch, preview, token=token, filename=upload.name)


def _preview_page(
    request: HttpRequest, batch: EnrollmentBatch, preview: imports.ImportPreview, *, token: str, filename: str
) -> HttpResponse:
    context = {
        "batch": batch,
        "preview": preview,
        "token": token,
        "filename": filename,
        "can_import": preview.valid_count > 0,
    }
    return render(request, "residents/enrollment/import_preview.html", context)


@method_decorator(never_cache, name="dispatch")
class ImportConfirmView(_BatchView):
    """Check the parked rows again, then enroll all, only the valid ones when asked, or nothing."""

    permission_action = "import"
    http_method_names = ["post"]

    def post(self, request, uuid):
        refused = self.refuse_if_closed(request)
        if refused:
            return refused
        batch = self.batch
        key = _session_key(batch)
        token = request.POST.get("token", "")
        pending = imports.pending_load(request.session, token, key=key)
        if pending is None:
            messages.error(
                request, _("There is no import waiting for confirmation, or it expired. Upload the file again.")
            )
            return redirect("residents:import_start", uuid=batch.uuid)
        filename, raw_rows = pending
        preview = enrollment.validate_rows(raw_rows, batch=batch)
        refusal = preview.confirm_refusal(valid_only=request.POST.get("valid_only") == "on")
        if refusal:
            messages.error(request, refusal)
            return _preview_page(request, batch, preview, token=token, filename=filename)

        try:
            enrolled = enrollment.enrollment_import_commit(
                batch=batch,
                rows=preview.valid_rows,
                acting_user=request.user,
                source=filename,
                skipped=preview.error_count,
            )
        except (IntegrityError, enrollment.EnrollmentError) as exc:
            # Someone enrolled or created one of these people meanwhile, or the batch changed: nothing was written.
            preview = enrollment.validate_rows(raw_rows, batch=batch)
            message = getattr(exc, "message", "") or _("The accounts changed while you were importing.")
            messages.error(request, _("%(reason)s Nothing was imported. Check again.") % {"reason": message})
            return _preview_page(request, batch, preview, token=token, filename=filename)
        imports.pending_clear(request.session, key=key)
        password_rows = [
            {
                "user": item.user,
                "password": item.initial_password,
                "url": reverse("residents:detail", args=[item.profile.uuid]),
                "text": item.profile.base,
            }
            for item in enrolled
        ]
        context = {
            "batch": batch,
            "enrolled": enrolled,
            "password_rows": password_rows,
            "skipped": preview.error_count,
            "filename": filename,
        }
        return render(request, "residents/enrollment/import_result.html", context)


# --- approved registrations ------------------------------------------------------------------


class BatchAcceptView(_BatchView):
    """Approved self-registrations for the batch's bases, waiting for their archive."""

    permission_action = "manage"
    template_name = "residents/enrollment/accept.html"

    def _page(self, request, form: AcceptForm) -> HttpResponse:
        lines = {line.base.pk: line for line in enrollment.quota_lines(self.batch)}
        context = {
            "batch": self.batch,
            "form": form,
            "pending": [(p, lines.get(p.base.pk)) for p in form.pending],
            "lines": list(lines.values()),
        }
        return render(request, self.template_name, context)

    def get(self, request, uuid):
        return self._page(request, AcceptForm(pending=enrollment.pending_registrations(self.batch)))

    def post(self, request, uuid):
        refused = self.refuse_if_closed(request)
        if refused:
            return refused
        form = AcceptForm(request.POST, pending=enrollment.pending_registrations(self.batch))
        if not form.is_valid():
            return self._page(request, form)
        try:
            profiles = enrollment.registrations_accept(
                batch=self.batch, user_ids=form.cleaned_data["users"], acting_user=request.user
            )
        except enrollment.EnrollmentError as exc:
            form.add_error(None, exc.message)
            return self._page(request, form)
        messages.success(
            request,
            ngettext(
                "%(n)d resident was enrolled: %(names)s.",
                "%(n)d residents were enrolled: %(names)s.",
                len(profiles),
            )
            % {"n": len(profiles), "names": "、".join(p.user.display_name for p in profiles)},
        )
        return redirect(self.detail_url())


# --- export ----------------------------------------------------------------------------------


class BatchExportView(_BatchView):
    """GET: the confirm page (password again). POST: the batch's residents as .xlsx, stamped and audited."""

    permission_action = "export"
    http_method_names = ["get", "post"]

    def get(self, request, uuid):
        batch = self.batch
        rows = visible(request.user, ResidentProfile).filter(batch=batch)
        return export_residents(
            request,
            rows,
            title=_("Enrollment batch %(batch)s") % {"batch": batch},
            filters={_("Enrollment batch"): str(batch)},
            cancel_url=self.detail_url(),
            target=batch,
        )

    post = get
