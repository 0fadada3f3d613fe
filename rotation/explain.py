"""Why a schedule is impossible or imperfect, as sentences in the office's terms.

The scheduler speaks in indices and figures (`diagnose.Reason`, `metrics.Violation`); a run stores
reasons and warnings as JSON dicts. These functions turn either into one translated sentence with
department names, month labels ("2026-09") and resident names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, is_dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .scheduling.problem import month_label


def _as_dict(item) -> dict:
    if is_dataclass(item) and not isinstance(item, type):
        return asdict(item)
    return dict(item)


def _months(months: list) -> str:
    """'2026-09' or '2026-09 – 2027-02' from absolute month indices or labels."""
    labels = [m if isinstance(m, str) else month_label(m) for m in months]
    if not labels:
        return ""
    first, last = min(labels), max(labels)
    return first if first == last else f"{first} – {last}"


def reason_dict(reason, problem=None) -> dict:
    """A diagnose.Reason as JSON for ScheduleRun.explanation, with names resolved while the problem is at hand."""
    data = _as_dict(reason)
    params = dict(data.get("message_params") or {})
    if problem is not None:
        if data.get("department") is not None and "department" not in params:
            params["department"] = problem.departments[data["department"]].name
        if data.get("residents"):
            params.setdefault("resident_names", [problem.residents[i].name for i in data["residents"][:20]])
    data["message_params"] = params
    data["month_labels"] = [month_label(m) for m in data.get("months") or []]
    return data


def reason_text(reason: Mapping | object) -> str:
    """One sentence for a stored reason dict (or a Reason)."""
    data = _as_dict(reason)
    p = dict(data.get("message_params") or {})
    kind = data.get("kind")
    months = _months(data.get("month_labels") or data.get("months") or [])
    department = p.get("department") or _("a department")
    resident = p.get("resident") or ", ".join(p.get("resident_names") or []) or _("a resident")
    if kind == "capacity":
        return _(
            "%(department)s needs %(needed)s resident-months in %(first)s – %(last)s "
            "but its capacity allows %(capacity)s (%(residents)s residents)."
        ) % {
            "department": department,
            "needed": p.get("needed"),
            "first": p.get("first"),
            "last": p.get("last"),
            "capacity": p.get("capacity"),
            "residents": p.get("residents", len(data.get("residents") or [])),
        }
    if kind == "month_overflow":
        return _("%(department)s already has %(pinned)s residents fixed in %(month)s but takes only %(capacity)s.") % {
            "department": department,
            "pinned": p.get("pinned"),
            "month": p.get("month") or months,
            "capacity": p.get("capacity"),
        }
    if kind == "window":
        if p.get("outside_horizon"):
            return _("%(resident)s has a training window (%(start)s – %(end)s) outside the planned months.") % {
                "resident": resident,
                "start": p.get("start"),
                "end": p.get("end"),
            }
        return _(
            "%(resident)s needs %(needed)s months of rotation but the training window has only %(available)s "
            "(%(leave)s months of leave)."
        ) % {
            "resident": resident,
            "needed": p.get("needed"),
            "available": p.get("available"),
            "leave": p.get("leave", 0),
        }
    if kind == "pin":
        return _(
            "%(resident)s has %(pinned)s months fixed in %(department)s (%(months)s) but the programme requires "
            "%(required)s."
        ) % {
            "resident": resident,
            "pinned": p.get("pinned"),
            "department": department,
            "months": months,
            "required": p.get("required"),
        }
    if kind == "closed":
        return _(
            "%(department)s is closed for too much of %(resident)s's window: %(needed)s months needed, %(open)s open."
        ) % {"department": department, "resident": resident, "needed": p.get("needed"), "open": p.get("open")}
    if kind == "year_minimum":
        return _(
            "%(resident)s needs %(needed)s months of %(department)s in training year %(year)s "
            "but only %(room)s are possible."
        ) % {
            "resident": resident,
            "needed": p.get("needed"),
            "department": department,
            "year": p.get("year"),
            "room": p.get("room"),
        }
    if kind == "elective":
        return _("No choice of %(choose)s among %(options)s fits %(resident)s (capacity or site limits).") % {
            "choose": p.get("choose"),
            "options": "、".join(p.get("options") or []),
            "resident": resident,
        }
    if kind == "unresolved":
        return _("%(department)s is still over capacity in %(months)s after the search ended.") % {
            "department": department,
            "months": months,
        }
    return _("The scheduler could not place everyone (%(kind)s%(months)s).") % {
        "kind": kind,
        "months": f", {months}" if months else "",
    }


def warning_text(warning: Mapping) -> str:
    """One sentence for a stored warning dict of a draft run."""
    kind = warning.get("kind")
    if kind == "below_minimum":
        return _("%(department)s has %(load)s residents in %(month)s, below its minimum of %(minimum)s.") % {
            "department": warning.get("department_name"),
            "load": warning.get("load"),
            "month": warning.get("month"),
            "minimum": warning.get("minimum"),
        }
    if kind == "preference":
        return _("%(resident)s wanted %(wanted)s and got %(got)s.") % {
            "resident": warning.get("name"),
            "wanted": "、".join(warning.get("wanted") or []),
            "got": "、".join(warning.get("got") or []) or _("none"),
        }
    if kind == "excluded":
        reason = warning.get("reason")
        if reason == "no_programme":
            text = _("%(resident)s was left out: the specialty base has no rotation programme.")
        elif reason == "programme_problems":
            text = _("%(resident)s was left out: the base's rotation programme has problems to fix first.")
        elif reason == "short_window":
            months, needed = (warning.get("detail") or ["?", "?"])[:2]
            return _(
                "%(resident)s was left out: %(months)s months of training cannot hold the programme's %(needed)s;"
                " the base plans a shortened training by hand."
            ) % {"resident": warning.get("name"), "months": months, "needed": needed}
        else:
            text = _("%(resident)s was left out: the training window is empty.")
        return text % {"resident": warning.get("name")}
    if kind == "violation":
        return _("%(resident)s breaks a rule (%(rule)s) in %(department)s %(month)s.") % {
            "resident": warning.get("name") or "",
            "rule": warning.get("rule"),
            "department": warning.get("department_name") or "",
            "month": warning.get("month") or "",
        }
    if kind == "replan_fresh":
        return _(
            "The published months could not be kept within today's capacities (months closed or reduced since "
            "publication), so this draft is a fresh plan: compare it with the published version before publishing."
        )
    if kind == "overflow":
        return ngettext(
            "%(count)s department-month is over capacity.",
            "%(count)s department-months are over capacity.",
            warning.get("count", 0),
        ) % {"count": warning.get("count", 0)}
    return str(warning.get("message") or kind)


def violation_dict(violation, problem, index) -> dict:
    """A metrics.Violation as a warning dict with names (so it renders without the problem)."""
    data = _as_dict(violation)
    return {
        "kind": "violation",
        "rule": data.get("kind"),
        "resident": index.residents[data["resident"]] if data.get("resident") is not None else None,
        "name": problem.residents[data["resident"]].name if data.get("resident") is not None else "",
        "department": index.departments[data["department"]] if data.get("department") is not None else None,
        "department_name": problem.departments[data["department"]].name if data.get("department") is not None else "",
        "month": month_label(data["month"]) if data.get("month") is not None else "",
    }


def violation_text(violation, problem, index) -> str:
    return warning_text(violation_dict(violation, problem, index))
