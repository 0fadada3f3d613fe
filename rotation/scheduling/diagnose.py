"""Why no schedule exists, in the training office's terms.

Each `Reason` names a department, months and residents plus the figures (`message_params`); the
Django layer turns `kind` + params into a translated sentence. Kinds:

- ``window``: a resident needs more months than the window has outside leave
  (params: needed, available, leave).
- ``pin``: pinned months contradict the programme (params: department months pinned vs required,
  or a pinned department the programme does not include).
- ``year_minimum``: a training year has too little room for a department's minimum.
- ``closed``: a required department is closed for (nearly) the whole window (params: needed, open).
- ``elective``: no choice of an elective group fits (capacity or collaborating-site limits).
- ``month_overflow``: pinned residents alone exceed a department's capacity in a month.
- ``capacity``: residents whose windows lie inside months a..b need N months of a department there
  but its capacity over those months is only C (a Hall-type interval condition).
- ``unresolved``: the search ended with department-months still over capacity (added by the solver).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .problem import LEAVE, Problem, Requirement, month_label


@dataclass
class Reason:
    kind: str
    department: int | None
    months: list[int]
    residents: list[int]
    message_params: dict = field(default_factory=dict)


def resident_reasons(problem: Problem, requirements: list[tuple[Requirement, ...]]) -> list[Reason]:
    """Problems of single residents: window too short, pins that contradict the programme, closures."""
    reasons: list[Reason] = []
    first, horizon = problem.first_month, problem.horizon
    for i, r in enumerate(problem.residents):
        reqs = requirements[i]
        if r.start < first or r.end > first + horizon or r.length <= 0:
            reasons.append(
                Reason(
                    "window",
                    None,
                    [r.start, r.end - 1],
                    [i],
                    {
                        "resident": r.name,
                        "outside_horizon": True,
                        "start": month_label(r.start),
                        "end": month_label(r.end - 1),
                    },
                )
            )
            continue
        leave = sum(1 for m in r.months() if r.pinned.get(m) == LEAVE)
        needed = sum(req.months for req in reqs)
        available = r.length - leave
        if needed > available:
            reasons.append(
                Reason(
                    "window",
                    None,
                    [m for m in r.months() if r.pinned.get(m) == LEAVE],
                    [i],
                    {"resident": r.name, "needed": needed, "available": available, "leave": leave},
                )
            )
            continue
        required = {req.department: req for req in reqs}
        pinned_count: dict[int, int] = {}
        for m, v in r.pinned.items():
            if v != LEAVE and r.start <= m < r.end:
                pinned_count[v] = pinned_count.get(v, 0) + 1
        bad_pin = False
        for d, count in pinned_count.items():
            if d not in required or count > required[d].months:
                bad_pin = True
                reasons.append(
                    Reason(
                        "pin",
                        d,
                        sorted(m for m, v in r.pinned.items() if v == d),
                        [i],
                        {
                            "resident": r.name,
                            "pinned": count,
                            "required": required[d].months if d in required else 0,
                        },
                    )
                )
        if bad_pin:
            continue
        for d, req in required.items():
            open_months = [
                m for m in r.months() if r.pinned.get(m, d) == d and (r.pinned.get(m) == d or problem.cap(d, m) > 0)
            ]
            if len(open_months) < req.months:
                reasons.append(
                    Reason(
                        "closed",
                        d,
                        [m for m in r.months() if problem.cap(d, m) <= 0],
                        [i],
                        {"resident": r.name, "needed": req.months, "open": len(open_months)},
                    )
                )
                continue
            for year, minimum in req.year_minimum:
                lo, hi = r.start + 12 * (year - 1), min(r.start + 12 * year, r.end)
                room = sum(
                    1
                    for m in range(lo, hi)
                    if r.pinned.get(m, d) == d and (r.pinned.get(m) == d or problem.cap(d, m) > 0)
                )
                if room < minimum:
                    reasons.append(
                        Reason(
                            "year_minimum",
                            d,
                            list(range(lo, hi)),
                            [i],
                            {"resident": r.name, "year": year, "needed": minimum, "room": room},
                        )
                    )
    return reasons


def capacity_reasons(problem: Problem, requirements: list[tuple[Requirement, ...]]) -> list[Reason]:
    """Month overflows from pins, and the worst violated interval condition per department."""
    reasons: list[Reason] = []
    first, horizon = problem.first_month, problem.horizon
    n_dep = len(problem.departments)
    fixed = [[0] * horizon for _ in range(n_dep)]
    fixed_who: dict[tuple[int, int], list[int]] = {}
    # remaining (unpinned) need per department and window
    remaining: list[dict[tuple[int, int], list]] = [dict() for _ in range(n_dep)]
    for i, r in enumerate(problem.residents):
        if r.start < first or r.end > first + horizon:
            continue
        pinned_count: dict[int, int] = {}
        for m, v in r.pinned.items():
            if v >= 0 and r.start <= m < r.end:
                fixed[v][m - first] += 1
                fixed_who.setdefault((v, m), []).append(i)
                pinned_count[v] = pinned_count.get(v, 0) + 1
        for req in requirements[i]:
            rest = req.months - pinned_count.get(req.department, 0)
            if rest > 0:
                entry = remaining[req.department].setdefault((r.start - first, r.end - first), [0, []])
                entry[0] += rest
                entry[1].append(i)
    for d in range(n_dep):
        cap = [max(0, c) for c in problem.capacity[d]]
        for t in range(horizon):
            if fixed[d][t] > cap[t]:
                m = first + t
                reasons.append(
                    Reason(
                        "month_overflow",
                        d,
                        [m],
                        fixed_who.get((d, m), []),
                        {
                            "department": problem.departments[d].name,
                            "month": month_label(m),
                            "pinned": fixed[d][t],
                            "capacity": cap[t],
                        },
                    )
                )
        if not remaining[d]:
            continue
        cap_prefix = [0]
        fixed_prefix = [0]
        for t in range(horizon):
            cap_prefix.append(cap_prefix[-1] + cap[t])
            fixed_prefix.append(fixed_prefix[-1] + min(fixed[d][t], cap[t]))
        starts = sorted({s for s, _ in remaining[d]})
        ends = sorted({e for _, e in remaining[d]})
        worst = None
        for a in starts:
            for b in ends:
                if b <= a:
                    continue
                need = fixed_prefix[b] - fixed_prefix[a]
                who: list[int] = []
                for (s, e), (rest, residents) in remaining[d].items():
                    if s >= a and e <= b:
                        need += rest
                        who.extend(residents)
                capacity = cap_prefix[b] - cap_prefix[a]
                excess = need - capacity
                if excess > 0 and (worst is None or excess > worst[0]):
                    worst = (excess, a, b, need, capacity, who)
        if worst is not None:
            excess, a, b, need, capacity, who = worst
            reasons.append(
                Reason(
                    "capacity",
                    d,
                    list(range(first + a, first + b)),
                    sorted(who),
                    {
                        "department": problem.departments[d].name,
                        "needed": need,
                        "capacity": capacity,
                        "excess": excess,
                        "first": month_label(first + a),
                        "last": month_label(first + b - 1),
                        "residents": len(who),
                    },
                )
            )
    return reasons


def elective_reasons(problem: Problem, impossible: list[tuple[int, int]]) -> list[Reason]:
    reasons = []
    for i, g in impossible:
        r = problem.residents[i]
        group = r.electives[g]
        reasons.append(
            Reason(
                "elective",
                None,
                [],
                [i],
                {
                    "resident": r.name,
                    "group": g,
                    "choose": group.choose,
                    "options": [problem.departments[o].name for o in group.options],
                    "site_limits": bool(
                        r.site_limits.max_sites is not None
                        or r.site_limits.max_departments is not None
                        or r.site_limits.max_months is not None
                    ),
                },
            )
        )
    return reasons


def diagnose(problem: Problem, requirements: list[tuple[Requirement, ...]] | None = None) -> list[Reason]:
    """Every reason found why `problem` has no schedule; empty when none is found.

    An empty list does not prove feasibility (the conditions are necessary, not sufficient); the
    solver adds ``unresolved`` reasons when its search ends with overflowing months.
    """
    impossible: list[tuple[int, int]] = []
    if requirements is None:
        from .electives import choose_electives

        choice = choose_electives(problem)
        requirements = choice.requirements
        impossible = choice.impossible
    reasons = elective_reasons(problem, impossible)
    reasons += resident_reasons(problem, requirements)
    if not any(reason.kind in ("window", "pin") for reason in reasons):
        reasons += capacity_reasons(problem, requirements)
    return reasons
