"""The auditor's screens: audit search and export, exceptions, traffic, and the hash chain.

Only auditors open them (`AuditorRequiredMixin`: anonymous -> login, any other role -> 403).
Reads go through `selectors`; when MongoDB is unavailable every screen answers 503 with a page
that says so in words (never a 500), so monitoring sees the outage and people see an explanation.
"""

import json

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from core import mongo
from core.audit import audit_record

from . import exports, selectors
from .filters import AuditEventFilterForm, ExceptionFilterForm
from .permissions import AuditorRequiredMixin

EVENTS_PER_PAGE = 50
EXCEPTIONS_PER_PAGE = 25


class AuditorView(AuditorRequiredMixin, View):
    """Auditors only; a MongoDB outage becomes a 503 page instead of an error."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except mongo.MongoUnavailable:
            response = render(request, "audit_logs/unavailable.html", status=503)
            response["Retry-After"] = "60"
            return response


def _query_string(request, *, without: tuple[str, ...] = ("page",)) -> str:
    query = request.GET.copy()
    for key in without:
        query.pop(key, None)
    return query.urlencode()


def _event_filters(request) -> tuple[AuditEventFilterForm, dict | None]:
    """The bound form and its MongoDB query; None when the filter is invalid (nothing is searched)."""
    form = AuditEventFilterForm(request.GET or None)
    if not form.is_bound:
        return form, {}
    if not form.is_valid():
        return form, None
    return form, selectors.audit_event_query(**form.cleaned_data)


class AuditEventListView(AuditorView):
    def get(self, request):
        form, query = _event_filters(request)
        page = None
        if query is not None:
            page = Paginator(selectors.audit_events(query), EVENTS_PER_PAGE).get_page(request.GET.get("page"))
        total = page.paginator.count if page else 0
        context = {
            "form": form,
            "page_obj": page,
            "is_paginated": bool(page and page.paginator.num_pages > 1),
            "events": page.object_list if page else [],
            "total": total,
            "export_query": _query_string(request),
            "export_limit": exports.EXPORT_MAX_ROWS,
            "export_truncated": total > exports.EXPORT_MAX_ROWS,
            "tab": "events",
        }
        return render(request, "audit_logs/auditevent_list.html", context)


class AuditEventDetailView(AuditorView):
    def get(self, request, seq: int):
        event = selectors.audit_event_by_seq(seq)
        if event is None:
            raise Http404
        return render(request, "audit_logs/auditevent_detail.html", {"event": event, "tab": "events"})


class AuditEventExportView(AuditorView):
    """The current filter as CSV or Excel; the export itself is an audit event."""

    file_format: str = "csv"

    def get(self, request):
        form, query = _event_filters(request)
        if query is None:
            messages.error(request, _("Correct the filter before exporting."))
            return redirect(f"{reverse('audit_logs:events')}?{_query_string(request)}")
        limit = exports.EXPORT_MAX_ROWS
        total = selectors.audit_event_count(query)
        rows = min(total, limit)
        audit_record(
            action="audit.export",
            acting_user=request.user,
            format=self.file_format,
            filters=json.dumps(form.active_filters() if form.is_bound else {}, ensure_ascii=False, sort_keys=True),
            rows=rows,
            total=total,
            truncated=total > limit,
        )
        filename = f"audit-events-{selectors.local_now():%Y%m%d-%H%M%S}.{self.file_format}"
        if self.file_format == "xlsx":
            response = HttpResponse(
                exports.xlsx_bytes(query, total=total, limit=limit), content_type=exports.XLSX_CONTENT_TYPE
            )
        else:
            response = StreamingHttpResponse(
                exports.csv_stream(query, total=total, limit=limit), content_type="text/csv; charset=utf-8"
            )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["X-Export-Rows"] = str(rows)
        response["X-Export-Truncated"] = "1" if total > limit else "0"
        response["Cache-Control"] = "no-store"
        return response


class ExceptionListView(AuditorView):
    def get(self, request):
        form = ExceptionFilterForm(request.GET or None)
        page = None
        if not form.is_bound or form.is_valid():
            query = selectors.exception_query(**form.cleaned_data) if form.is_bound else {}
            page = Paginator(selectors.exception_groups(query), EXCEPTIONS_PER_PAGE).get_page(request.GET.get("page"))
        context = {
            "form": form,
            "page_obj": page,
            "is_paginated": bool(page and page.paginator.num_pages > 1),
            "groups": page.object_list if page else [],
            "total": page.paginator.count if page else 0,
            "tab": "exceptions",
        }
        return render(request, "audit_logs/exception_list.html", context)


class ExceptionDetailView(AuditorView):
    def get(self, request, signature: str):
        detail = selectors.exception_detail(signature)
        if detail is None:
            raise Http404
        return render(request, "audit_logs/exception_detail.html", {"exception": detail, "tab": "exceptions"})


class TrafficView(AuditorView):
    def get(self, request):
        range_key = request.GET.get("range", "24h")
        if range_key not in selectors.TRAFFIC_RANGES:
            range_key = "24h"
        data = selectors.traffic(range_key)
        chart = None
        if not data["empty"]:
            chart = {
                "labels": {
                    "requests": _("Requests"),
                    "errors": _("Server errors (5xx)"),
                    "client_errors": _("Client errors (4xx)"),
                    "p95": _("p95 duration (ms)"),
                    "count": _("Requests"),
                },
                "series": data["series"],
                "pages": [{"name": p["url_name"], "p95": p["p95_ms"]} for p in data["pages"]],
                "roles": [{"name": r["label"], "count": r["count"]} for r in data["roles"]],
            }
        context = {
            "traffic": data,
            "chart": chart,
            "range": range_key,
            "ranges": [("24h", _("Last 24 hours")), ("7d", _("Last 7 days"))],
            "tab": "traffic",
        }
        return render(request, "audit_logs/traffic_dashboard.html", context)


class ChainStatusView(AuditorView):
    def get(self, request):
        context = {
            "verifications": selectors.chain_verifications(),
            "anchors": selectors.chain_anchors(),
            "tab": "chain",
        }
        return render(request, "audit_logs/chain_status.html", context)


def _result(result, name: str, default=None):
    if isinstance(result, dict):
        return result.get(name, default)
    return getattr(result, name, default)


class ChainVerifyView(AuditorView):
    """POST: verify the whole chain now; the result is stored by verify_chain and shown on the status page."""

    http_method_names = ["post"]

    def post(self, request):
        from audit_logs.chain import verify_chain  # written alongside; imported late on purpose

        if not settings.CELERY_TASK_ALWAYS_EAGER:
            # A long chain takes longer than a web request may: the worker verifies it.
            from audit_logs.tasks import verify_chain as verify_chain_task

            verify_chain_task.delay()
            audit_record(action="audit.chain_verify", acting_user=request.user, queued=True)
            messages.info(
                request, _("The verification runs in the background; its result appears at the top of the list.")
            )
            return redirect("audit_logs:chain")
        result = verify_chain(trigger="screen")
        ok = _result(result, "ok")
        problem = _result(result, "problem") or {}
        audit_record(
            action="audit.chain_verify",
            acting_user=request.user,
            ok=ok,  # a broken chain is a finding, not a failed action: the outcome stays "success"
            checked=_result(result, "checked", ""),
            problem=_result(problem, "kind", ""),
        )
        if ok is None:
            messages.info(request, _("The verification has run; its result is at the top of the list."))
        elif ok:
            messages.success(
                request,
                _("The audit chain is intact: %(checked)s events checked.")
                % {"checked": _result(result, "checked", 0)},
            )
        else:
            messages.error(
                request,
                _("The audit chain is broken at event %(seq)s: %(detail)s")
                % {"seq": _result(problem, "seq", "?"), "detail": _result(problem, "detail", "")},
            )
        return redirect("audit_logs:chain")
