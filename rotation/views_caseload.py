"""登记手册 pages: the resident's log and quick entry, an entry's page, the supervisor's inbox with bulk
approval, and quota progress per block.

Access follows the block (CaseloadEntryPolicy, RotationBlockPolicy): an entry or block outside a
user's scope is a 404; a visible one with a forbidden action (a secretary approving, a resident
editing an approved entry) a 403. Pages that belong to a role (my log, the inbox) are a 403 for
other roles (core.permissions.deny). Patient initials and record numbers are masked everywhere but
on an entry's own page for the resident and the block's supervisor.
"""

import datetime
from collections import OrderedDict

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from accounts.choices import Role
from core.permissions import can, deny, get_visible_or_404, require, visible
from core.uploads import serve_file
from residents.models import ResidentProfile

from .choices import CaseloadKind, EntryStatus
from .forms_caseload import CorrectionForm, EntryForm, ReturnForm
from .models import CaseloadEntry, RotationBlock
from .permissions import BASE_MANAGERS
from .services import caseload, caseload_progress
from .services.caseload import mask_initials, mask_record_number

#: Who opens the inbox of entries waiting for approval.
DECIDERS = (Role.SUPERVISOR, Role.DEPARTMENT_HEAD)
#: Who opens the progress of others' blocks.
STAFF = (
    Role.SUPERVISOR,
    Role.TEACHING_SECRETARY,
    Role.DEPARTMENT_HEAD,
    Role.ATTENDANCE_CLERK,
    *BASE_MANAGERS,
    Role.TRAINING_OFFICE,
)
KIND_ICONS = {
    CaseloadKind.DISEASE: "clipboard2-pulse",
    CaseloadKind.CASE: "person-vcard",
    CaseloadKind.PROCEDURE: "heart-pulse",
    CaseloadKind.OPERATION: "scissors",
    CaseloadKind.WRITEUP: "file-earmark-medical",
    CaseloadKind.RESCUE: "lightning-charge",
    CaseloadKind.LEARNING: "book",
}
STATUS_BADGES = {
    EntryStatus.DRAFT: "text-bg-secondary",
    EntryStatus.SUBMITTED: "text-bg-warning",
    EntryStatus.APPROVED: "text-bg-success",
    EntryStatus.RETURNED: "text-bg-danger",
    EntryStatus.SUPERSEDED: "text-bg-light border",
}


def kinds() -> list[dict]:
    return [{"value": k.value, "label": k.label, "icon": KIND_ICONS[k]} for k in CaseloadKind]


def _profile(user) -> ResidentProfile | None:
    return ResidentProfile.objects.filter(user=user).select_related("user").first()


def _own_profile_or_deny(request) -> ResidentProfile:
    """Pages a resident logs on: others are a 403; a resident without an archive too."""
    if not request.user.scope.is_resident:
        deny(request)
    profile = _profile(request.user)
    if profile is None:
        deny(request)
    return profile


def _kind(value: str | None) -> str:
    return value if value in CaseloadKind.values else CaseloadKind.DISEASE


def _entries(queryset):
    return queryset.select_related("standard", "block__department", "resident__user", "decided_by")


def _rows(entries) -> list[CaseloadEntry]:
    """Entries as list rows: patient data masked, a status badge."""
    rows = list(entries)
    for entry in rows:
        entry.patient_masked = " · ".join(
            v for v in (mask_initials(entry.patient_initials), mask_record_number(entry.record_number)) if v
        )
        entry.badge = STATUS_BADGES.get(entry.status, "text-bg-light")
    return rows


def _next_or(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: field errors where the field is shown, the rest on top."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _initial(entry: CaseloadEntry) -> dict:
    initial = {name: getattr(entry, name) for name in caseload.ENTRY_FIELDS}
    initial["day"] = entry.day
    initial["standard"] = entry.standard_id
    initial["succeeded"] = "" if entry.succeeded is None else ("yes" if entry.succeeded else "no")
    return initial


# --- the resident's log ---------------------------------------------------------------------------


class MyCaseloadView(LoginRequiredMixin, View):
    """登记手册: progress of a block (the current one by default) and its entries, newest first."""

    def get(self, request):
        profile = _own_profile_or_deny(request)
        today = timezone.localdate()
        blocks = list(
            RotationBlock.objects.filter(resident=profile, start_date__lte=today)
            .select_related("department", "supervisor", "resident__user")
            .order_by("-start_date")
        )
        chosen = request.GET.get("block")
        block = next((b for b in blocks if str(b.uuid) == chosen), None) or (blocks[0] if blocks else None)
        context = {"profile": profile, "blocks": blocks, "rblock": block, "kinds": kinds(), "today": today}
        if block is not None:
            entries = _entries(CaseloadEntry.objects.filter(block=block))
            status = request.GET.get("status")
            if status in EntryStatus.values:
                entries = entries.filter(status=status)
            page = Paginator(entries, 50).get_page(request.GET.get("page"))
            counts = dict(
                CaseloadEntry.objects.filter(block=block).values_list("status").annotate(n=Count("pk")).order_by()
            )
            context.update(
                progress=caseload_progress.progress(block),
                page_obj=page,
                entries=_rows(page.object_list),
                is_paginated=page.has_other_pages(),
                status=status,
                counts=counts,
                statuses=[(s.value, s.label, counts.get(s.value, 0)) for s in EntryStatus],
            )
        return render(request, "rotation/caseload/mine.html", context)


class QuickEntryView(LoginRequiredMixin, View):
    """The phone page at the end of a shift: big buttons per kind, today preset, the list as a select, a count."""

    template = "rotation/caseload/quick.html"

    def _context(self, request, profile, kind, form):
        today = timezone.localdate()
        block = caseload.block_on(profile, today)
        todays = _rows(
            _entries(CaseloadEntry.objects.filter(resident=profile, day=today)).exclude(status=EntryStatus.SUPERSEDED)
        )
        return {
            "profile": profile,
            "rblock": block,
            "kind": kind,
            "kind_label": CaseloadKind(kind).label,
            "kinds": kinds(),
            "form": form,
            "todays": todays,
            "today": today,
            "drafts": CaseloadEntry.objects.filter(resident=profile, status=EntryStatus.DRAFT).count(),
            "yesterday_count": CaseloadEntry.objects.filter(resident=profile, day=today - datetime.timedelta(days=1))
            .exclude(status=EntryStatus.SUPERSEDED)
            .count(),
            "saved": request.GET.get("saved") == "1",
        }

    def _department(self, profile):
        today = timezone.localdate()
        block = caseload.block_on(profile, today) or (
            RotationBlock.objects.filter(resident=profile, start_date__lte=today).order_by("-start_date").first()
        )
        return block.department if block else None

    def get(self, request):
        profile = _own_profile_or_deny(request)
        kind = _kind(request.GET.get("kind"))
        form = EntryForm(kind=kind, department=self._department(profile), quick=True)
        return render(request, self.template, self._context(request, profile, kind, form))

    def post(self, request):
        profile = _own_profile_or_deny(request)
        kind = _kind(request.POST.get("kind"))
        form = EntryForm(request.POST, kind=kind, department=self._department(profile), quick=True)
        if form.is_valid():
            draft = "draft" in request.POST
            try:
                entry = caseload.entry_create(
                    resident=profile,
                    kind=kind,
                    day=form.cleaned_data["day"],
                    acting_user=request.user,
                    draft=draft,
                    **form.entry_fields(),
                )
            except ValidationError as exc:
                _errors(form, exc)
            else:
                what = f"{entry.count} × {entry.name}" if entry.name else entry.get_kind_display()
                if draft:
                    messages.success(request, _("Saved as a draft: %(what)s.") % {"what": what})
                else:
                    messages.success(request, _("Logged: %(what)s. Waiting for approval.") % {"what": what})
                return redirect(reverse("rotation:caseload_quick") + f"?kind={kind}&saved=1")
        return render(request, self.template, self._context(request, profile, kind, form), status=400)


class EntryCreateView(LoginRequiredMixin, View):
    """The full form of one kind, with attachments."""

    template = "rotation/caseload/entry_form.html"

    def _department(self, profile, day):
        block = caseload.block_on(profile, day)
        return block.department if block else None

    def get(self, request, kind):
        profile = _own_profile_or_deny(request)
        kind = _kind(kind)
        form = EntryForm(kind=kind, department=self._department(profile, timezone.localdate()))
        return render(request, self.template, {"form": form, "kind": kind, "kind_label": CaseloadKind(kind).label})

    def post(self, request, kind):
        profile = _own_profile_or_deny(request)
        kind = _kind(kind)
        department = self._department(profile, timezone.localdate())
        form = EntryForm(request.POST, request.FILES, kind=kind, department=department)
        if form.is_valid():
            try:
                entry = caseload.entry_create(
                    resident=profile,
                    kind=kind,
                    day=form.cleaned_data["day"],
                    acting_user=request.user,
                    draft="draft" in request.POST,
                    files=form.cleaned_data.get("attachments") or [],
                    **form.entry_fields(),
                )
            except ValidationError as exc:
                _errors(form, exc)
            else:
                messages.success(request, _("The entry was saved."))
                return redirect("rotation:caseload_entry", entry.uuid)
        context = {"form": form, "kind": kind, "kind_label": CaseloadKind(kind).label}
        return render(request, self.template, context, status=400)


class RepeatView(LoginRequiredMixin, View):
    """ "Same as yesterday": yesterday's entries, patient records unticked, logged again today after a confirmation."""

    def get(self, request):
        profile = _own_profile_or_deny(request)
        today = timezone.localdate()
        candidates = _rows(caseload.repeat_candidates(profile, today))
        for entry in candidates:
            entry.preselected = entry.kind not in caseload.PATIENT_KINDS
        return render(request, "rotation/caseload/repeat.html", {"entries": candidates, "today": today})

    def post(self, request):
        profile = _own_profile_or_deny(request)
        today = timezone.localdate()
        chosen = set(request.POST.getlist("entry"))
        entries = [e for e in caseload.repeat_candidates(profile, today) if str(e.uuid) in chosen]
        if not entries:
            messages.error(request, _("Tick the entries to log again."))
            return redirect("rotation:caseload_repeat")
        try:
            created = caseload.entries_repeat(resident=profile, entries=entries, day=today, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("rotation:caseload_repeat")
        messages.success(
            request,
            ngettext(
                "%(count)s entry logged again for today.", "%(count)s entries logged again for today.", len(created)
            )
            % {"count": len(created)},
        )
        return redirect("rotation:caseload_quick")


class SubmitDraftsView(LoginRequiredMixin, View):
    def post(self, request):
        profile = _own_profile_or_deny(request)
        count = caseload.drafts_submit(resident=profile, acting_user=request.user)
        if count:
            messages.success(
                request,
                ngettext("%(count)s draft sent for approval.", "%(count)s drafts sent for approval.", count)
                % {"count": count},
            )
        else:
            messages.info(request, _("There are no drafts to send."))
        return redirect(_next_or(request, reverse("rotation:caseload_mine")))


# --- one entry ------------------------------------------------------------------------------------


def _entry(user, uuid) -> CaseloadEntry:
    return get_visible_or_404(
        user,
        CaseloadEntry.objects.select_related(
            "block__department", "block__supervisor", "block__resident__user", "resident__user", "standard",
            "decided_by", "corrects",
        ),
        uuid=uuid,
    )  # fmt: skip


class EntryDetailView(LoginRequiredMixin, View):
    def get(self, request, uuid):
        entry = _entry(request.user, uuid)
        user = request.user
        show_patient = caseload.may_see_patient(user, entry)
        _rows([entry])
        context = {
            "entry": entry,
            "show_patient": show_patient,
            "attachments": list(entry.attachments.all()),
            "corrections": _rows(entry.corrections.order_by("-pk")),
            "can_edit": can(user, "edit", entry),
            "can_correct": can(user, "correct", entry)
            and not entry.corrections.filter(status__in=caseload.EDITABLE).exists(),
            "can_decide": can(user, "decide", entry),
            "return_form": ReturnForm(),
        }
        return render(request, "rotation/caseload/entry_detail.html", context)


class EntryEditView(LoginRequiredMixin, View):
    template = "rotation/caseload/entry_form.html"

    def _form(self, entry, data=None, files=None):
        return EntryForm(data, files, kind=entry.kind, department=entry.block.department, initial=_initial(entry))

    def _context(self, entry, form):
        return {"form": form, "entry": entry, "kind": entry.kind, "kind_label": entry.get_kind_display()}

    def get(self, request, uuid):
        entry = _entry(request.user, uuid)
        require(request.user, "edit", entry)
        return render(request, self.template, self._context(entry, self._form(entry)))

    def post(self, request, uuid):
        entry = _entry(request.user, uuid)
        require(request.user, "edit", entry)
        form = self._form(entry, request.POST, request.FILES)
        if form.is_valid():
            try:
                version = int(request.POST.get("version", ""))
            except ValueError:
                version = -1
            try:
                caseload.entry_update(
                    entry=entry,
                    version=version,
                    acting_user=request.user,
                    day=form.cleaned_data["day"],
                    draft="draft" in request.POST,
                    files=form.cleaned_data.get("attachments") or [],
                    **form.entry_fields(),
                )
            except ValidationError as exc:
                _errors(form, exc)
            else:
                messages.success(request, _("The entry was saved."))
                return redirect("rotation:caseload_entry", entry.uuid)
        return render(request, self.template, self._context(entry, form), status=400)


class EntryDeleteView(LoginRequiredMixin, View):
    def post(self, request, uuid):
        entry = _entry(request.user, uuid)
        require(request.user, "edit", entry)
        try:
            caseload.entry_delete(entry=entry, version=int(request.POST.get("version") or -1), acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("rotation:caseload_entry", entry.uuid)
        messages.success(request, _("The entry was deleted."))
        return redirect(_next_or(request, reverse("rotation:caseload_mine")))


class EntryCorrectView(LoginRequiredMixin, View):
    """An approved entry is corrected by a new one with a reason, approved again."""

    template = "rotation/caseload/entry_form.html"

    def _form(self, entry, data=None, files=None):
        return CorrectionForm(data, files, kind=entry.kind, department=entry.block.department, initial=_initial(entry))

    def _context(self, entry, form):
        return {
            "form": form,
            "entry": entry,
            "kind": entry.kind,
            "kind_label": entry.get_kind_display(),
            "correcting": True,
        }

    def get(self, request, uuid):
        entry = _entry(request.user, uuid)
        require(request.user, "correct", entry)
        return render(request, self.template, self._context(entry, self._form(entry)))

    def post(self, request, uuid):
        entry = _entry(request.user, uuid)
        require(request.user, "correct", entry)
        form = self._form(entry, request.POST, request.FILES)
        if form.is_valid():
            try:
                correction = caseload.entry_correct(
                    entry=entry,
                    reason=form.cleaned_data["correction_reason"],
                    acting_user=request.user,
                    day=form.cleaned_data["day"],
                    files=form.cleaned_data.get("attachments") or [],
                    **form.entry_fields(),
                )
            except ValidationError as exc:
                _errors(form, exc)
            else:
                messages.success(request, _("The correction was sent for approval."))
                return redirect("rotation:caseload_entry", correction.uuid)
        return render(request, self.template, self._context(entry, form), status=400)


class EntryDecideView(LoginRequiredMixin, View):
    """POST approve, or return with a comment (the block's supervisor or the department head)."""

    def post(self, request, uuid):
        entry = _entry(request.user, uuid)
        require(request.user, "decide", entry)
        approve = request.POST.get("decision") == "approve"
        try:
            caseload.entry_decide(
                entry=entry,
                version=int(request.POST.get("version") or -1),
                approve=approve,
                comment=request.POST.get("comment", ""),
                acting_user=request.user,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("rotation:caseload_entry", entry.uuid)
        messages.success(request, _("Approved.") if approve else _("Returned to the resident."))
        return redirect(_next_or(request, reverse("rotation:caseload_inbox")))


class AttachmentView(LoginRequiredMixin, View):
    def get(self, request, uuid, pk):
        entry = _entry(request.user, uuid)
        attachment = get_object_or_404(entry.attachments, pk=pk)
        return serve_file(attachment.file, filename=attachment.original_name, content_type=attachment.content_type)


# --- the supervisor's inbox -------------------------------------------------------------------------


def _monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


class InboxView(LoginRequiredMixin, View):
    """Entries waiting for the user's decision, by resident, week and day; one form approves a selection."""

    def _queryset(self, user):
        return _entries(visible(user, CaseloadEntry).filter(caseload.inbox_q(user))).order_by(
            "resident__user__real_name", "resident_id", "day", "pk"
        )

    def get(self, request):
        if not request.user.scope.has_role(*DECIDERS):
            deny(request)
        entries = _rows(self._queryset(request.user)[:500])
        residents: OrderedDict = OrderedDict()
        for entry in entries:
            resident = residents.setdefault(
                entry.resident_id, {"resident": entry.resident, "block": entry.block, "weeks": OrderedDict()}
            )
            week = resident["weeks"].setdefault(_monday(entry.day), OrderedDict())
            week.setdefault(entry.day, []).append(entry)
        groups = [
            {
                **r,
                "weeks": [
                    {"monday": monday, "days": [{"day": d, "entries": e} for d, e in days.items()]}
                    for monday, days in r["weeks"].items()
                ],
            }
            for r in residents.values()
        ]
        return render(request, "rotation/caseload/inbox.html", {"groups": groups, "total": len(entries)})


class BulkApproveView(LoginRequiredMixin, View):
    """One POST: the ticked entries (uuid:version) narrowed to a day or a week when a day/week button was used."""

    def post(self, request):
        if not request.user.scope.has_role(*DECIDERS):
            deny(request)
        selection: dict[str, int] = {}
        for value in request.POST.getlist("entry"):
            uuid, _sep, version = value.partition(":")
            try:
                selection[uuid] = int(version)
            except ValueError:
                continue
        scope = request.POST.get("scope", "")
        entries = list(
            visible(request.user, CaseloadEntry)
            .filter(caseload.inbox_q(request.user), uuid__in=list(selection))
            .select_related("block__resident__user", "block__department", "resident__user")
        )
        kind, _sep, rest = scope.partition(":")
        resident_uuid, _sep, day_text = rest.partition(":")
        try:
            day = datetime.date.fromisoformat(day_text) if day_text else None
        except ValueError:
            day = None
        if kind in ("day", "week") and day is not None:
            last = day if kind == "day" else day + datetime.timedelta(days=6)
            entries = [e for e in entries if str(e.resident.uuid) == resident_uuid and day <= e.day <= last]
        allowed = [(e, selection[str(e.uuid)]) for e in entries if can(request.user, "decide", e)]
        if not allowed:
            messages.error(request, _("Tick the entries to approve."))
            return redirect("rotation:caseload_inbox")
        result = caseload.entries_approve(selection=allowed, acting_user=request.user)
        if result.approved:
            messages.success(
                request,
                ngettext("%(count)s entry approved.", "%(count)s entries approved.", len(result.approved))
                % {"count": len(result.approved)},
            )
        if result.skipped:
            names = ", ".join(f"{e.day:%m-%d} {e.name or e.get_kind_display()}" for e in result.skipped)
            messages.warning(
                request,
                ngettext(
                    "%(count)s entry was changed by the resident meanwhile and was not approved: %(names)s.",
                    "%(count)s entries were changed by the resident meanwhile and were not approved: %(names)s.",
                    len(result.skipped),
                )
                % {"count": len(result.skipped), "names": names},
            )
        return redirect("rotation:caseload_inbox")


# --- progress per block -------------------------------------------------------------------------------


class BlockListView(LoginRequiredMixin, View):
    """Blocks in progress the user sees (supervised, the department's, the base's, the office's), with quotas."""

    def get(self, request):
        user = request.user
        if not user.scope.has_role(*STAFF):
            deny(request)
        today = timezone.localdate()
        blocks = (
            visible(user, RotationBlock)
            .filter(start_date__lte=today, end_date__gte=today)
            .exclude(resident__user=user)
            .select_related("resident__user", "department", "supervisor")
            .order_by("department__code", "resident__user__real_name", "pk")
        )
        if request.GET.get("mine") == "1":
            blocks = blocks.filter(supervisor=user)
        page = Paginator(blocks, 30).get_page(request.GET.get("page"))
        progress = caseload_progress.progress_for(list(page.object_list))
        rows = [{"block": b, "progress": progress[b.pk]} for b in page.object_list]
        context = {
            "rows": rows,
            "page_obj": page,
            "is_paginated": page.has_other_pages(),
            "mine": request.GET.get("mine"),
        }
        return render(request, "rotation/caseload/block_list.html", context)


class BlockView(LoginRequiredMixin, View):
    """One block's quotas with progress bars and its entries (patients masked)."""

    def get(self, request, uuid):
        block = get_visible_or_404(
            request.user, RotationBlock.objects.select_related("resident__user", "department", "supervisor"), uuid=uuid
        )
        entries = _entries(CaseloadEntry.objects.filter(block=block)).exclude(status=EntryStatus.DRAFT)
        if block.resident.user_id == request.user.pk:
            entries = _entries(CaseloadEntry.objects.filter(block=block))
        page = Paginator(entries, 50).get_page(request.GET.get("page"))
        context = {
            "rblock": block,  # not "block": inside {% block %} that name is the template block
            "progress": caseload_progress.progress(block),
            "entries": _rows(page.object_list),
            "page_obj": page,
            "is_paginated": page.has_other_pages(),
            "is_self": block.resident.user_id == request.user.pk,
            "waiting": CaseloadEntry.objects.filter(block=block, status=EntryStatus.SUBMITTED).count(),
            "may_decide": block.supervisor_id == request.user.pk
            or block.department_id in request.user.scope.departments(Role.DEPARTMENT_HEAD),
        }
        return render(request, "rotation/caseload/block.html", context)
