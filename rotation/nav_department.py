"""The department's month on the home page of its teaching secretary, head and attendance clerk.

One panel per user, one card section per department they hold a department role in (usually one):
who arrives this month (and whether they have a supervisor yet), who is on approved leave today,
this month's attendance report, and the 出科 still open in the department. It folds in what the
attendance panel used to show, so that panel is not registered on its own any more.

The queries are the same whatever the number of departments: departments, blocks, leave, reports,
open exits (five), so a user with several departments costs no more than one with a single one.
"""

import datetime
from collections import defaultdict

from django.db.models import Count
from django.utils import timezone

from accounts.choices import Role
from core.home import Panel
from core.home import register as register_panel

from .choices import ExitStage
from .models import ExitReview, RotationBlock
from .months import month_end, month_start
from .permissions import DEPARTMENT_MANAGERS
from .selectors import overlapping, viewable_departments
from .services.attendance import month_statuses
from .services.leave import on_leave

PANEL_ROLES = (*DEPARTMENT_MANAGERS, Role.ATTENDANCE_CLERK)
OPEN_STAGES = (ExitStage.SUMMARY, ExitStage.ASSESSMENT, ExitStage.HEAD, ExitStage.BASE)


def has_department_home(user) -> bool:
    """Teaching secretaries, heads and attendance clerks (from the roles alone: no query)."""
    return bool(user.is_authenticated) and user.scope.has_role(*PANEL_ROLES)


def _open_exits(department_ids: list[int]) -> dict[int, list[dict]]:
    """Open 出科 per department: [{stage, label, count}] in the order of the steps (one query)."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        ExitReview.objects.filter(block__department_id__in=department_ids, stage__in=OPEN_STAGES)
        .values("block__department_id", "stage")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["block__department_id"]][row["stage"]] = row["n"]
    labels = dict(ExitStage.choices)
    return {
        department_id: [{"stage": s, "label": labels[s], "count": by_stage[s]} for s in OPEN_STAGES if s in by_stage]
        for department_id, by_stage in counts.items()
    }


def department_home(request, today: datetime.date | None = None) -> dict:
    """The panel's context: a row per department of the user's department roles (five queries)."""
    user = request.user
    today = today or timezone.localdate()
    first, last = month_start(today), month_end(today)
    departments = list(
        viewable_departments(user).filter(pk__in=user.scope.departments(*PANEL_ROLES)).order_by("code", "pk")
    )
    ids = [d.pk for d in departments]
    blocks = list(
        overlapping(RotationBlock.objects.filter(department_id__in=ids), first, last)
        .select_related("resident__user", "supervisor")
        .order_by("start_date", "resident__user__real_name", "pk")
    )
    here_today = [b for b in blocks if b.start_date <= today <= b.end_date]
    away = on_leave(today, {b.resident_id for b in here_today}) if here_today else set()
    reports = month_statuses(ids, [first]) if ids else {}
    exits = _open_exits(ids) if ids else {}
    by_department: dict[int, list[RotationBlock]] = defaultdict(list)
    for block in blocks:
        by_department[block.department_id].append(block)
    rows = []
    for department in departments:
        mine = by_department[department.pk]
        open_exits = exits.get(department.pk, [])
        rows.append(
            {
                "department": department,
                "arriving": [b for b in mine if b.start_date >= first],
                "leaving": sum(1 for b in mine if b.end_date <= last),
                "present": len({b.resident_id for b in mine if b.start_date <= today <= b.end_date}),
                "on_leave": [b for b in mine if b.start_date <= today <= b.end_date and b.resident_id in away],
                "report": reports.get((department.pk, first)),
                "exits": open_exits,
                "exits_total": sum(e["count"] for e in open_exits),
            }
        )
    return {
        "rows": rows,
        "month": first,
        "today": today,
        "sees_exit_inbox": user.scope.has_role(*DEPARTMENT_MANAGERS),
    }


register_panel(
    Panel(
        template="rotation/schedule/department_home_panel.html",
        context=department_home,
        allowed=has_department_home,
        order=22,
    )
)
