"""The resident archive page and its edits. Views look up, check, call one service, render.

Every lookup goes through core.permissions: outside the user's scope an archive, a record
or a certificate does not exist (404); a visible archive with a forbidden action is a 403.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.generic import DetailView, View

from accounts.services import id_number_reveal
from core import timeline
from core.audit import audit_record
from core.masking import mask_phone
from core.permissions import ScopedObjectMixin, can, get_visible_or_404, require
from core.uploads import CONTENT_TYPES, extension_of, serve_file

from . import services
from .choices import ConductKind, RevisionSource
from .forms import (
    RECORD_FORMS,
    CertificateForm,
    EmergencyContactFormSet,
    OfficeArchiveForm,
    OwnArchiveForm,
    contact_rows,
)
from .models import ArchiveRevision, Certificate, ResidentProfile, TrainingChange


def _archive_url(profile: ResidentProfile, section: str = "") -> str:
    url = reverse("residents:detail", args=[profile.uuid])
    return f"{url}#{section}" if section else url


class MyArchiveView(LoginRequiredMixin, View):
    """我的档案: a resident's way in; accounts without an archive have none to show."""

    def get(self, request):
        profile = ResidentProfile.objects.filter(user=request.user).only("uuid").first()
        if profile is None:
            raise Http404(_("You have no resident archive."))
        return redirect("residents:detail", uuid=profile.uuid)


class ArchiveDetailView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    """The archive, one card per section; everything the page lists is prefetched in a fixed number of queries."""

    model = ResidentProfile
    template_name = "residents/archive_detail.html"
    context_object_name = "profile"

    def get_scoped_queryset(self):
        return ResidentProfile.objects.select_related("user", "base__hospital", "mentor", "batch").prefetch_related(
            "emergency_contacts",
            "posts",
            "conduct_records",
            Prefetch("certificates", queryset=Certificate.objects.select_related("uploaded_by")),
            Prefetch("revisions", queryset=ArchiveRevision.objects.select_related("changed_by")),
            Prefetch("training_changes", queryset=TrainingChange.objects.select_related("new_base", "requested_by")),
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        profile, user = self.object, self.request.user
        is_self = profile.user_id == user.pk
        can_contact = can(user, "contact", profile)
        can_records = can(user, "records", profile)
        # Disciplinary records and the edit history are for the resident and those who keep the archive.
        keeps_archive = is_self or can_records
        is_office = user.scope.is_office
        conduct = [r for r in profile.conduct_records.all() if keeps_archive or r.kind != ConductKind.DISCIPLINE]
        context.update(
            is_self=is_self,
            can_reveal=can(user, "reveal", profile),
            can_contact=can_contact,
            can_edit_own=can(user, "edit_own", profile),
            can_edit=can(user, "edit", profile),
            can_records=can_records,
            can_upload=can(user, "upload_certificate", profile),
            can_request_change=can(user, "request_change", profile),
            can_see_history=keeps_archive,
            phone_display=profile.user.phone if can_contact else profile.user.phone_masked,
            contacts=[
                {"contact": c, "phone": c.phone if can_contact else mask_phone(c.phone)}
                for c in profile.emergency_contacts.all()
            ],
            posts=list(profile.posts.all()),
            conduct_records=conduct,
            certificates=[
                {"certificate": c, "can_delete": c.uploaded_by_id == user.pk or is_office}
                for c in profile.certificates.all()
            ],
            timeline_entries=timeline.entries(timeline.RESIDENT, profile, user),
            revisions=list(profile.revisions.all()) if keeps_archive else [],
            record_kinds=list(RECORD_FORMS),
        )
        return context


class PhotoView(LoginRequiredMixin, View):
    """The archive photo, for whoever may open the archive."""

    def get(self, request, uuid):
        profile = get_visible_or_404(request.user, ResidentProfile, uuid=uuid)
        if not profile.photo:
            raise Http404(_("No photo."))
        content_type = CONTENT_TYPES.get(extension_of(profile.photo.name), "application/octet-stream")
        try:
            return serve_file(
                profile.photo, filename=f"photo.{extension_of(profile.photo.name)}", content_type=content_type
            )
        except FileNotFoundError:
            raise Http404(_("The file is missing from storage.")) from None


class RevealIdNumberView(LoginRequiredMixin, View):
    """HTMX: swaps the masked ID number for the full one; only REVEAL_ROLES, and every reveal is audited."""

    def post(self, request, uuid):
        profile = get_visible_or_404(request.user, ResidentProfile.objects.select_related("user"), uuid=uuid)
        require(request.user, "reveal", profile)
        number = id_number_reveal(user=request.user, subject=profile.user)
        return HttpResponse(format_html('<span class="font-monospace" data-testid="id-number-full">{}</span>', number))


class _ProfileActionMixin(ScopedObjectMixin):
    """Look the archive up in the user's scope (404), then check the action (403), before any handler runs."""

    model = ResidentProfile

    def get_scoped_queryset(self):
        return ResidentProfile.objects.select_related("user", "base")

    def dispatch(self, request, *args, **kwargs):
        self.profile = self.get_object()
        return super().dispatch(request, *args, **kwargs)


class _ArchiveEditView(LoginRequiredMixin, _ProfileActionMixin, View):
    """One form for the archive fields plus the emergency contacts; saved together or not at all."""

    form_class: type = OwnArchiveForm
    source: str = RevisionSource.SELF
    heading = ""
    template_name = "residents/archive_edit.html"

    def _forms(self, data=None, files=None):
        # The forms work on their own copy: an invalid form must not change what the page header shows.
        instance = ResidentProfile.objects.select_related("user", "base").get(pk=self.profile.pk)
        form = self.form_class(data, files, instance=instance)
        formset = EmergencyContactFormSet(data, instance=instance, prefix="contacts")
        return form, formset

    def _render(self, form, formset, status=200):
        context = {"profile": self.profile, "form": form, "formset": formset, "heading": self.heading}
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, uuid):
        return self._render(*self._forms())

    def post(self, request, uuid):
        form, formset = self._forms(request.POST, request.FILES)
        if form.is_valid() and formset.is_valid():
            data = {**form.archive_data(), services.CONTACTS: contact_rows(formset)}
            try:
                changes = services.archive_update(
                    profile=self.profile, acting_user=request.user, data=data, source=self.source
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if changes:
                    messages.success(request, _("The archive was saved."))
                else:
                    messages.info(request, _("Nothing was changed."))
                return redirect(_archive_url(self.profile))
        messages.error(request, _("Nothing was saved. Please correct the fields marked below."))
        return self._render(form, formset)


class OwnArchiveEditView(_ArchiveEditView):
    permission_action = "edit_own"
    form_class = OwnArchiveForm
    source = RevisionSource.SELF

    @property
    def heading(self):
        return _("Update my details")


class OfficeArchiveEditView(_ArchiveEditView):
    permission_action = "edit"
    form_class = OfficeArchiveForm
    source = RevisionSource.OFFICE

    @property
    def heading(self):
        return _("Edit archive")


class _RecordFormView(LoginRequiredMixin, _ProfileActionMixin, View):
    template_name = "residents/record_form.html"

    def get_form_class(self):
        raise NotImplementedError

    def heading(self) -> str:
        raise NotImplementedError

    def _render(self, form):
        context = {"profile": self.profile, "form": form, "heading": self.heading()}
        return render(self.request, self.template_name, context)

    def get(self, request, *args, **kwargs):
        return self._render(self.get_form_class()())


class RecordAddView(_RecordFormView):
    """A post held (职务) or an award / disciplinary record, added by the office or the base."""

    permission_action = "records"

    def get_form_class(self):
        return RECORD_FORMS[self.kwargs["kind"]]  # the URL converter admits only known kinds

    def heading(self) -> str:
        return _("Add a post held") if self.kwargs["kind"] == "post" else _("Add an award or disciplinary record")

    def post(self, request, uuid, kind):
        form = self.get_form_class()(request.POST)
        if form.is_valid():
            try:
                services.record_add(profile=self.profile, kind=kind, data=form.cleaned_data, acting_user=request.user)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The record was added."))
                return redirect(_archive_url(self.profile, "section-posts" if kind == "post" else "section-conduct"))
        return self._render(form)


class RecordDeleteView(LoginRequiredMixin, _ProfileActionMixin, View):
    permission_action = "records"
    http_method_names = ["post"]

    def post(self, request, uuid, kind, pk):
        related = {"post": self.profile.posts, "conduct": self.profile.conduct_records}.get(kind)
        if related is None:
            raise Http404
        record = related.filter(pk=pk).first()
        if record is None:
            raise Http404
        services.record_delete(record=record, acting_user=request.user)
        messages.success(request, _("The record was removed."))
        return redirect(_archive_url(self.profile, "section-posts" if kind == "post" else "section-conduct"))


class CertificateAddView(_RecordFormView):
    permission_action = "upload_certificate"

    def get_form_class(self):
        return CertificateForm

    def heading(self) -> str:
        return _("Upload a certificate")

    def _render(self, form):
        context = {"profile": self.profile, "form": form, "heading": self.heading(), "multipart": True}
        return render(self.request, self.template_name, context)

    def post(self, request, uuid):
        form = CertificateForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.certificate_add(
                    profile=self.profile,
                    file=data["upload"],
                    kind=data["kind"],
                    title=data["title"],
                    number=data["number"],
                    issued_on=data["issued_on"],
                    acting_user=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The certificate was uploaded."))
                return redirect(_archive_url(self.profile, "section-certificates"))
        return self._render(form)


def _certificate(user, uuid) -> Certificate:
    """A certificate exists for a user only if its archive is visible to them."""
    profile = get_visible_or_404(user, ResidentProfile, certificates__uuid=uuid)
    certificate = Certificate.objects.get(resident=profile, uuid=uuid)
    certificate.resident = profile
    return certificate


class CertificateDownloadView(LoginRequiredMixin, View):
    def get(self, request, uuid):
        certificate = _certificate(request.user, uuid)
        try:
            return serve_file(
                certificate.file, filename=certificate.original_name, content_type=certificate.content_type
            )
        except FileNotFoundError:
            raise Http404(_("The file is missing from storage.")) from None


class CertificateDeleteView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, uuid):
        certificate = _certificate(request.user, uuid)
        if not services.may_delete_certificate(request.user, certificate):
            audit_record(
                action="access.denied",
                outcome="denied",
                acting_user=request.user,
                target=certificate.resident,
                attempted="certificate_delete",
            )
            raise PermissionDenied
        profile = certificate.resident
        services.certificate_delete(certificate=certificate, acting_user=request.user)
        messages.success(request, _("The certificate was removed."))
        return redirect(_archive_url(profile, "section-certificates"))
