"""Find a schedule: electives by preference, greedy construction, local search, CP-SAT polish.

A CP-SAT model of a whole hospital is too big (over 1 GB at 200 residents), so the search works on
one resident's months at a time (simulated annealing on a quadratic surrogate of the balance
measure, with capacity overflow heavily penalised) and hands small neighbourhoods — the residents
touching the worst department — to CP-SAT, which minimises the true measure (largest minus
smallest deviation from the fair share) for the departments they visit.

Everything works on flat lists indexed `department * horizon + month offset` to keep the inner
loop allocation-free; the balance measure is the one in `metrics.balance`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .diagnose import Reason, capacity_reasons, elective_reasons, resident_reasons
from .electives import choose_electives
from .problem import FREE, LEAVE, Problem, Requirement, Schedule, month_label

W_OVER = 1000  # cost of one resident-month over capacity, in squared-deviation units
W_CHANGE = 40  # re-planning: cost of changing one resident-month of the previous schedule
CONSTRUCT_NODES = 4000  # depth-first nodes per resident before falling back to CP-SAT
SCALE = 1000  # CP-SAT: deviations in thousandths
SMALL = 16  # up to this many residents, CP-SAT models all of them at once, deterministically
SMALL_MOVES = 30_000  # annealing moves per round on small instances
MAX_UNFREEZE_ROUNDS = 40  # re-planning: rounds of releasing residents from overflowing months
RELEASE_ALL_AFTER = 6  # ... after which everyone may move (still penalised for each change)


@dataclass
class Result:
    schedule: Schedule | None  # None when infeasible
    feasible: bool
    explanation: list[Reason]
    stats: dict
    trace: list[tuple[float, float]] = field(default_factory=list)


class _Resident:
    """What the search needs of one resident, in window positions (0 = the window's first month)."""

    __slots__ = (
        "index",
        "offset",
        "length",
        "reqs",
        "max_runs",
        "year_mins",
        "comp",
        "cinv",
        "pinc",
        "fixed",
        "need",
        "free",
        "prev",
        "has_pins",
        "resident",
        "pinned_count",
        "mandatory",
        "requirements",
    )

    def __init__(self, index: int, resident, requirements: tuple[Requirement, ...], first: int):
        self.index = index
        self.offset = resident.start - first
        self.length = resident.length
        self.resident = resident
        self.fixed = {}
        for m, v in resident.pinned.items():
            if resident.start <= m < resident.end:
                self.fixed[m - resident.start] = v
        self.comp = [p for p in range(self.length) if self.fixed.get(p) != LEAVE]
        self.cinv = [-1] * self.length
        for i, p in enumerate(self.comp):
            self.cinv[p] = i
        self.pinc = [p in self.fixed for p in self.comp]
        self.has_pins = any(v != LEAVE for v in self.fixed.values())
        self.pinned_count: dict[int, int] = {}
        for v in self.fixed.values():
            if v >= 0:
                self.pinned_count[v] = self.pinned_count.get(v, 0) + 1
        self.mandatory = {req.department for req in resident.requirements}
        self.set_requirements(requirements)
        self.prev = None
        if resident.previous:
            self.prev = [resident.previous.get(resident.start + p, FREE) for p in range(self.length)]

    def set_requirements(self, requirements: tuple[Requirement, ...]) -> None:
        self.requirements = requirements
        self.reqs = {}
        for req in requirements:
            months, runs, mins = self.reqs.get(req.department, (0, 0, ()))
            self.reqs[req.department] = (months + req.months, max(runs, req.max_runs), mins + tuple(req.year_minimum))
        self.max_runs = {d: runs for d, (_, runs, _) in self.reqs.items()}
        self.year_mins = []
        for d, (_, _, mins) in self.reqs.items():
            for year, minimum in mins:
                lo = 12 * (year - 1)
                self.year_mins.append((d, lo, min(lo + 12, self.length), minimum))
        self.need = {d: months - self.pinned_count.get(d, 0) for d, (months, _, _) in self.reqs.items()}
        unpinned = sum(1 for x in self.pinc if not x)
        self.free = unpinned - sum(self.need.values())

    def blank(self) -> list[int]:
        months = [FREE] * self.length
        for p, v in self.fixed.items():
            months[p] = v
        return months

    def valid(self, months: list[int]) -> bool:
        """Counts, runs, pins and year minimums (capacity aside)."""
        if len(months) != self.length:
            return False
        for p, v in self.fixed.items():
            if months[p] != v:
                return False
        counts: dict[int, int] = {}
        for p, v in enumerate(months):
            if v == LEAVE and p not in self.fixed:
                return False
            if v >= 0:
                counts[v] = counts.get(v, 0) + 1
        if set(counts) - set(self.reqs):
            return False
        for d, (months_d, runs, _) in self.reqs.items():
            if counts.get(d, 0) != months_d:
                return False
            if self.runs(months, d) > runs:
                return False
        for d, lo, hi, minimum in self.year_mins:
            if months[lo:hi].count(d) < minimum:
                return False
        return True

    def runs(self, months: list[int], d: int) -> int:
        count, previous = 0, None
        for p in self.comp:
            v = months[p]
            if v == d and previous != d:
                count += 1
            previous = v
        return count


class _State:
    """Loads, fair shares and the current schedule, flat."""

    def __init__(self, problem: Problem, residents: list[_Resident]):
        self.problem = problem
        self.H = problem.horizon
        self.D = len(problem.departments)
        H = self.H
        self.residents = residents
        self.cap = [c for row in problem.capacity for c in row]
        self.fair = [0.0] * (self.D * H)
        self.eligible = [0] * (self.D * H)  # residents needing d whose window covers the month
        for res in residents:
            self._share(res, 1)
        self.dep_cells = [[t for t in range(H) if self.eligible[d * H + t]] for d in range(self.D)]
        self.load = [0] * (self.D * H)
        self.sched: list[list[int] | None] = [None] * len(residents)
        # residents whose window covers each month offset, for focused moves
        self.cover = [[] for _ in range(H)]
        for res in residents:
            for t in range(res.offset, res.offset + res.length):
                self.cover[t].append(res.index)

    def _share(self, res: _Resident, sign: int) -> None:
        H = self.H
        for d, (months, _, _) in res.reqs.items():
            if months <= 0:
                continue
            share = sign * months / res.length
            base = d * H + res.offset
            for k in range(base, base + res.length):
                self.fair[k] += share
                self.eligible[k] += sign

    def change_requirements(self, r: int, requirements: tuple[Requirement, ...]) -> None:
        """A new elective choice: fair shares and eligible months move with it."""
        res = self.residents[r]
        touched = set(res.reqs)
        self._share(res, -1)
        res.set_requirements(requirements)
        self._share(res, 1)
        touched |= set(res.reqs)
        H = self.H
        for d in touched:
            self.dep_cells[d] = [t for t in range(H) if self.eligible[d * H + t] > 0]

    def place(self, r: int, months: list[int]) -> None:
        res = self.residents[r]
        old = self.sched[r]
        H, off, load = self.H, res.offset, self.load
        if old is not None:
            for p, v in enumerate(old):
                if v >= 0:
                    load[v * H + off + p] -= 1
        for p, v in enumerate(months):
            if v >= 0:
                load[v * H + off + p] += 1
        self.sched[r] = months

    def overflow(self) -> int:
        return sum(x - c for x, c in zip(self.load, self.cap, strict=False) if x > c)

    def overflow_cells(self) -> list[tuple[int, int]]:
        H = self.H
        return [(k // H, k % H) for k, (x, c) in enumerate(zip(self.load, self.cap, strict=False)) if x > c]

    def imbalance(self, d: int) -> float:
        H, load, fair = self.H, self.load, self.fair
        cells = self.dep_cells[d]
        if not cells:
            return 0.0
        devs = [load[d * H + t] - fair[d * H + t] for t in cells]
        return max(devs) - min(devs)

    def balance_sum(self) -> float:
        return sum(self.imbalance(d) for d in range(self.D))

    def quad_cost(self) -> float:
        cost = 0.0
        for k, ok in enumerate(self.eligible):
            if ok:
                dev = self.load[k] - self.fair[k]
                cost += dev * dev
        return cost + W_OVER * self.overflow()

    def change_count(self) -> int:
        n = 0
        for res, months in zip(self.residents, self.sched, strict=True):
            if res.prev is not None and months is not None:
                n += sum(1 for a, b in zip(res.prev, months, strict=True) if a != b)
        return n


# --- construction -------------------------------------------------------------------------------


def _construct(state: _State, res: _Resident, rng: random.Random) -> list[int] | None:
    """Left-to-right tiling of the resident's free months with blocks, cheapest block first.

    Depth-first with a node budget: the window has only ~3 spare months, so a greedy choice can
    leave a gap nothing fits into, and then an earlier choice is revisited.
    """
    H, load, cap, fair = state.H, state.load, state.cap, state.fair
    off = res.offset
    comp, pinc = res.comp, res.pinc
    n = len(comp)
    months = res.blank()
    need = dict(res.need)
    runs_used = {d: res.runs(months, d) for d in res.reqs}
    free_left = [res.free]
    prev = res.prev
    nodes = [0]
    # free stretch length from each compressed index (until the next pinned month)
    stretch = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        stretch[i] = 0 if pinc[i] else stretch[i + 1] + 1
    jitter = [rng.random() * 1e-3 for _ in range(n)]
    last_pin = {months[comp[i]]: i for i in range(n) if pinc[i]}

    def cell_cost(d: int, p: int) -> float:
        k = d * H + off + p
        x = load[k]
        c = 2 * (x - fair[k]) + 1
        if x >= cap[k]:
            c += W_OVER
        return c

    def check_years() -> bool:
        for d, lo, hi, minimum in res.year_mins:
            if months[lo:hi].count(d) < minimum:
                return False
        return True

    def rec(i: int) -> bool:
        while i < n and pinc[i]:
            i += 1
        if i >= n:
            return all(v == 0 for v in need.values()) and check_years()
        nodes[0] += 1
        if nodes[0] > CONSTRUCT_NODES:
            return False
        room = stretch[i]
        before = months[comp[i - 1]] if i > 0 else None
        for d, rest in need.items():
            # a department out of runs can only continue the run just before or join a later pin
            if rest > 0 and runs_used[d] >= res.max_runs[d] and before != d and last_pin.get(d, -1) < i:
                return False
        options = []
        if free_left[0] > 0:
            cost = 1.0
            if prev is not None and prev[comp[i]] != FREE:
                cost += W_CHANGE
            options.append((cost + jitter[i], FREE, 1))
        for d, rest in need.items():
            if rest <= 0:
                continue
            limit = res.max_runs[d]
            lengths = [rest] if rest <= room else []
            if limit - runs_used[d] > 1 or before == d:
                lengths += [x for x in range(min(rest - 1, room), 0, -1) if x not in lengths][:3]
            elif room < rest and i + room < n and months[comp[i + room]] == d:
                lengths.append(room)  # up to a pinned month of d, continued after it
            for length in lengths:
                end = i + length
                after = months[comp[end]] if end < n and pinc[end] else None
                new_runs = 1 - (before == d) - (after == d)
                if runs_used[d] + new_runs > limit:
                    continue
                if length < rest and runs_used[d] + new_runs >= limit:
                    continue  # the rest would need another run
                total = 0.0
                for j in range(i, end):
                    p = comp[j]
                    total += cell_cost(d, p)
                    if prev is not None and prev[p] != d:
                        total += W_CHANGE
                options.append((total / length + jitter[i] + (0.5 if length < rest else 0), d, length))
        options.sort()
        for _, d, length in options:
            if d == FREE:
                months[comp[i]] = FREE
                free_left[0] -= 1
                if rec(i + 1):
                    return True
                free_left[0] += 1
                continue
            end = i + length
            after = months[comp[end]] if end < n and pinc[end] else None
            new_runs = 1 - (before == d) - (after == d)
            for j in range(i, end):
                months[comp[j]] = d
            need[d] -= length
            runs_used[d] += new_runs
            if rec(end):
                return True
            need[d] += length
            runs_used[d] -= new_runs
            for j in range(i, end):
                months[comp[j]] = FREE
            if nodes[0] > CONSTRUCT_NODES:
                return False
        return False

    if res.free < 0 or any(v < 0 for v in need.values()):
        return None
    if rec(0):
        return months
    return None


# --- CP-SAT neighbourhoods ----------------------------------------------------------------------


def _cp_neighbourhood(
    state: _State,
    chosen: list[int],
    *,
    time_limit: float,
    seed: int,
    workers: int,
    hint: bool = True,
    balance: bool = True,
    change_weight: int = 0,
    hard: bool = False,
    soft: bool = False,
    electives: bool = False,
    out_requirements: dict | None = None,
    deterministic: bool = False,
    wall_limit: float | None = None,
    info: dict | None = None,
) -> dict[int, list[int]] | None:
    """Re-plan `chosen` residents exactly with everyone else fixed; None when nothing better is found.

    Minimises W_OVER × overflow + Σ (max − min deviation) of the departments they visit (scaled to
    integers), i.e. the true measure; accepted only when not worse than the current schedules.
    """
    from ortools.sat.python import cp_model

    H = state.H
    model = cp_model.CpModel()
    # loads of everyone else
    base = list(state.load)
    for r in chosen:
        months = state.sched[r]
        if months is None:
            continue
        res = state.residents[r]
        for p, v in enumerate(months):
            if v >= 0 and p not in res.fixed:
                base[v * H + res.offset + p] -= 1
    terms: dict[int, list] = {}  # cell -> variables adding one resident
    xs: dict[int, dict[tuple[int, int], object]] = {}
    ys: dict[int, list[tuple[int, object]]] = {}
    objective = []
    for r in chosen:
        res = state.residents[r]
        x: dict[tuple[int, int], object] = {}
        xs[r] = x
        months = state.sched[r]
        # department -> (months still to place, max runs, choice variable or None when mandatory)
        items: dict[int, tuple[int, int, object]] = {}
        if electives and res.resident.electives:
            for d in res.reqs:
                if d in res.mandatory:
                    items[d] = (res.need[d], res.max_runs[d], None)
            ys[r] = []
            for g, group in enumerate(res.resident.electives):
                prefs = res.resident.preferences[g] if g < len(res.resident.preferences) else ()
                row = []
                for o in group.options:
                    if o in items:
                        continue
                    y = model.NewBoolVar("")
                    row.append(y)
                    ys[r].append((o, y))
                    pinned = res.pinned_count.get(o, 0)
                    if pinned:
                        model.Add(y == 1)
                    items[o] = (group.months_each - pinned, group.max_runs, y)
                    model.AddHint(y, o in res.reqs)
                    rank = prefs.index(o) if o in prefs else len(prefs)
                    if rank:
                        objective.append(SCALE * rank * y)
                model.Add(sum(row) == group.choose)
            _add_site_limits(model, state.problem, res, items)
        else:
            items = {d: (res.need[d], res.max_runs[d], None) for d in res.reqs}
        for i, p in enumerate(res.comp):
            if res.pinc[i]:
                continue
            row = []
            for d, (rest, _, _) in items.items():
                if rest <= 0:
                    continue
                var = model.NewBoolVar("")
                x[(p, d)] = var
                row.append(var)
                terms.setdefault(d * H + res.offset + p, []).append(var)
                if hint and months is not None:
                    model.AddHint(var, months[p] == d)
            if row:
                model.AddAtMostOne(row)
        for d, (rest, max_runs, y) in items.items():
            if rest <= 0:
                continue
            months_d = rest + res.pinned_count.get(d, 0)
            total = sum(x[(p, d)] for p in res.comp if (p, d) in x)
            if y is None:
                model.Add(total == rest)
                if max_runs == 1 and _add_block(model, res, x, d, rest, months if hint else None):
                    continue
            else:
                model.Add(total == rest * y)
            # runs: a run starts where d follows something else (pinned d months are constants)
            starts = []
            prev_expr = 0
            const_runs = 0
            was = 0  # the current schedule's value of prev_expr, for the hint
            for i, p in enumerate(res.comp):
                now = 1 if months is not None and months[p] == d else 0
                if res.pinc[i]:
                    cur = 1 if res.fixed[p] == d else 0
                    if cur and not isinstance(prev_expr, int):
                        s = model.NewBoolVar("")
                        model.Add(s >= 1 - prev_expr)
                        starts.append(s)
                        if hint and months is not None:
                            model.AddHint(s, 1 - was)
                    elif cur and prev_expr == 0:
                        const_runs += 1
                    prev_expr = cur
                else:
                    var = x[(p, d)]
                    if isinstance(prev_expr, int):
                        if prev_expr == 0:
                            starts.append(var)
                    else:
                        s = model.NewBoolVar("")
                        model.Add(s >= var - prev_expr)
                        starts.append(s)
                        if hint and months is not None:
                            model.AddHint(s, max(0, now - was))
                    prev_expr = var
                was = now
            if max_runs < months_d:
                model.Add(sum(starts) + const_runs <= max_runs)
        for d, lo, hi, minimum in res.year_mins:
            pinned_in = sum(1 for p in range(lo, hi) if res.fixed.get(p) == d)
            model.Add(sum(x[(p, d)] for p in range(lo, hi) if (p, d) in x) + pinned_in >= minimum)
    overflow_vars = []
    for k, vars_ in terms.items():
        if base[k] + len(vars_) <= state.cap[k]:
            continue
        if (state.load[k] > state.cap[k] or soft) and not hard:  # over now: allowed, at a price
            o = model.NewIntVar(0, len(vars_) + max(0, base[k] - state.cap[k]), "")
            model.Add(sum(vars_) + base[k] - state.cap[k] <= o)
            if hint:
                model.AddHint(o, max(0, state.load[k] - state.cap[k]))
            overflow_vars.append(o)
        else:
            model.Add(sum(vars_) + base[k] <= state.cap[k])
    if overflow_vars:
        objective.append(W_OVER * SCALE * sum(overflow_vars))
    if balance:
        departments = {d for r in chosen for d in state.residents[r].reqs}
        for d in departments:
            fixed_devs = []
            var_devs = []
            for t in state.dep_cells[d]:
                k = d * H + t
                f = round(state.fair[k] * SCALE)
                if k in terms:
                    var_devs.append((terms[k], base[k] * SCALE - f))
                else:
                    fixed_devs.append(state.load[k] * SCALE - f)
            if not var_devs:
                continue
            lo_bound = min(fixed_devs + [c for _, c in var_devs])
            hi_bound = max(fixed_devs + [c + SCALE * len(v) for v, c in var_devs])
            hi = model.NewIntVar(lo_bound, hi_bound, "")
            lo = model.NewIntVar(lo_bound, hi_bound, "")
            if fixed_devs:
                model.Add(hi >= max(fixed_devs))
                model.Add(lo <= min(fixed_devs))
            for vars_, c in var_devs:
                expr = SCALE * sum(vars_) + c
                model.Add(hi >= expr)
                model.Add(lo <= expr)
            if hint:
                now = [state.load[d * H + t] * SCALE - round(state.fair[d * H + t] * SCALE) for t in state.dep_cells[d]]
                model.AddHint(hi, max(now))
                model.AddHint(lo, min(now))
            objective.append(hi - lo)
    if change_weight:
        for r in chosen:
            res = state.residents[r]
            if res.prev is None:
                continue
            for (p, d), var in xs[r].items():
                if res.prev[p] == d:
                    objective.append(-change_weight * SCALE * var)
    if objective:
        model.Minimize(sum(objective))
    solver = cp_model.CpSolver()
    if deterministic:
        solver.parameters.max_deterministic_time = max(0.05, time_limit)
        solver.parameters.max_time_in_seconds = max(0.1, wall_limit or 3 * time_limit)
        solver.parameters.num_workers = 1
    else:
        solver.parameters.max_time_in_seconds = max(0.05, time_limit)
        solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    solver.parameters.log_search_progress = False
    status = solver.Solve(model)
    if info is not None:
        info["optimal"] = status == cp_model.OPTIMAL
    import os

    if os.environ.get("CPDEBUG"):
        print(
            "status", solver.StatusName(status), solver.ObjectiveValue(), solver.BestObjectiveBound(), solver.WallTime()
        )
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    result = {}
    for r in chosen:
        res = state.residents[r]
        months = res.blank()
        for (p, d), var in xs[r].items():
            if solver.BooleanValue(var):
                months[p] = d
        result[r] = months
        if r in ys and out_requirements is not None:
            picked = {o for o, y in ys[r] if solver.BooleanValue(y)}
            if picked != {d for d in res.reqs if d not in res.mandatory}:
                reqs = list(res.resident.requirements)
                for group in res.resident.electives:
                    for o in group.options:
                        if o in picked:
                            reqs.append(Requirement(o, group.months_each, group.max_runs))
                            picked.discard(o)
                out_requirements[r] = tuple(reqs)
    return result


def _add_site_limits(model, problem: Problem, res: _Resident, items: dict) -> None:
    """Collaborating-site limits over the mandatory departments and the chosen options."""
    limits = res.resident.site_limits
    if limits.max_sites is None and limits.max_departments is None and limits.max_months is None:
        return
    departments = problem.departments
    fixed_deps = [d for d, (_, _, y) in items.items() if y is None and departments[d].collaborating]
    options = [(d, y) for d, (_, _, y) in items.items() if y is not None and departments[d].collaborating]
    months = {req.department: req.months for req in res.resident.requirements}
    each = {o: g.months_each for g in res.resident.electives for o in g.options}
    if limits.max_departments is not None:
        model.Add(len(fixed_deps) + sum(y for _, y in options) <= limits.max_departments)
    if limits.max_months is not None:
        model.Add(sum(months.get(d, 0) for d in fixed_deps) + sum(each[o] * y for o, y in options) <= limits.max_months)
    if limits.max_sites is not None:
        fixed_sites = {departments[d].site for d in fixed_deps}
        site_vars: dict[object, object] = {}
        for o, y in options:
            site = departments[o].site
            if site in fixed_sites:
                continue
            if site not in site_vars:
                site_vars[site] = model.NewBoolVar("")
            model.Add(site_vars[site] >= y)
        model.Add(len(fixed_sites) + sum(site_vars.values()) <= limits.max_sites)


def _add_block(model, res: _Resident, x: dict, d: int, rest: int, months: list[int] | None) -> bool:
    """One block of `rest` months as a choice among its possible starts (a much tighter model)."""
    comp, pinc = res.comp, res.pinc
    n = len(comp)
    pins = [i for i in range(n) if pinc[i] and res.fixed[comp[i]] == d]
    if pins:
        return False  # blocks around pinned months: the general run model handles them
    starts = []
    free_from = [0] * (n + 1)  # unpinned stretch length starting at i
    for i in range(n - 1, -1, -1):
        free_from[i] = 0 if pinc[i] else free_from[i + 1] + 1
    for i in range(n):
        if free_from[i] < rest:
            continue
        if pins and not (i + rest == pins[0] or i == pins[-1] + 1):
            continue
        starts.append(i)
    if not starts:
        return False
    cover: dict[int, list] = {}
    current = None
    if months is not None:
        for i in range(n):
            if not pinc[i] and months[comp[i]] == d:
                current = i
                break
    chosen = []
    for i in starts:
        b = model.NewBoolVar("")
        chosen.append(b)
        if months is not None:
            model.AddHint(b, i == current)
        for j in range(i, i + rest):
            cover.setdefault(comp[j], []).append(b)
    model.AddExactlyOne(chosen)
    for i in range(n):
        if pinc[i]:
            continue
        p = comp[i]
        model.Add(x[(p, d)] == sum(cover.get(p, [])))
    return True


# --- local search -------------------------------------------------------------------------------


class _Search:
    """Simulated annealing on one resident's months at a time."""

    def __init__(self, state: _State, rng: random.Random, movable: list[int], change_weight: int = 0):
        self.state = state
        self.rng = rng
        self.movable = movable
        self.movable_set = set(movable)
        self.change_weight = change_weight
        self.moves = 0
        self.accepted = 0
        self.hot: list[tuple[int, int]] = []  # (resident, compressed index) worth moving

    def refresh_hot(self, limit: int = 400) -> None:
        """Residents in the most over-full and most empty cells of each department."""
        st = self.state
        H, load, fair, cap = st.H, st.load, st.fair, st.cap
        movable = self.movable_set
        hot = []
        for d in range(st.D):
            cells = st.dep_cells[d]
            if not cells:
                continue
            devs = sorted(cells, key=lambda t: load[d * H + t] - fair[d * H + t])
            picks = devs[:2] + devs[-3:] + [t for t in cells if load[d * H + t] > cap[d * H + t]]
            for t in picks:
                k = d * H + t
                high = load[k] - fair[k] > 0 or load[k] > cap[k]
                cover = st.cover[t]
                if not cover:
                    continue
                found = 0
                start = self.rng.randrange(len(cover))
                for j in range(len(cover)):
                    r = cover[(start + j) % len(cover)]
                    if r not in movable:
                        continue
                    res = st.residents[r]
                    months = st.sched[r]
                    p = t - res.offset
                    if high:
                        if months[p] == d and res.cinv[p] >= 0 and not res.pinc[res.cinv[p]]:
                            hot.append((r, res.cinv[p]))
                            found += 1
                    elif d in res.reqs and months[p] != d:
                        for q in range(res.length):
                            if months[q] == d and res.cinv[q] >= 0 and not res.pinc[res.cinv[q]]:
                                hot.append((r, res.cinv[q]))
                                found += 1
                                break
                    if found >= 4 or j > 400:
                        break
        self.rng.shuffle(hot)
        self.hot = hot[:limit]

    def run(
        self,
        deadline: float,
        t_start: float,
        t_end: float,
        on_tick: Callable[[], None] | None = None,
        max_moves: int | None = None,
    ) -> None:
        """Anneal until `deadline` (or `max_moves`, which keeps small instances deterministic)."""
        st = self.state
        rng = self.rng
        rand = rng.random
        randrange = rng.randrange
        H, load, cap, fair = st.H, st.load, st.cap, st.fair
        sched, residents = st.sched, st.residents
        movable = self.movable
        n_mov = len(movable)
        if n_mov == 0:
            return
        cw = self.change_weight
        began = time.perf_counter()
        total = max(1e-6, deadline - began)
        temp = t_start
        log_ratio = math.log(t_end / t_start) if t_start > 0 and t_end > 0 else 0.0
        moves = accepted = 0
        exp = math.exp
        vals: list[int] = []
        while True:
            moves += 1
            if not moves & 1023:
                now = time.perf_counter()
                if max_moves is not None:
                    if moves >= max_moves:
                        break
                    temp = t_start * exp(log_ratio * moves / max_moves)
                else:
                    if now >= deadline:
                        break
                    temp = t_start * exp(log_ratio * (now - began) / total)
                if not moves & 16383:
                    self.refresh_hot()
                    if on_tick is not None:
                        on_tick()
            hot = self.hot
            if hot and rand() < 0.5:
                r, x = hot[randrange(len(hot))]
                res = residents[r]
            else:
                r = movable[randrange(n_mov)]
                res = residents[r]
                x = randrange(len(res.comp))
            S = sched[r]
            C = res.comp
            P = res.pinc
            n = len(C)
            if P[x]:
                continue
            v = S[C[x]]
            a = x
            while a > 0 and not P[a - 1] and S[C[a - 1]] == v:
                a -= 1
            b = x + 1
            while b < n and not P[b] and S[C[b]] == v:
                b += 1
            mr = res.max_runs
            splittable = v == FREE or mr.get(v, 1) > 1
            if splittable and b - a > 1 and rand() < 0.5:
                length = 1 + randrange(b - a - 1)
                a += randrange(b - a - length + 1)
                b = a + length
            kind = randrange(3)
            steps = 1 + randrange(3)
            if kind == 0 or kind == 2:  # move right / swap with a run to the right
                g = b
                ok = True
                for _ in range(steps):
                    if g >= n or P[g]:
                        ok = False
                        break
                    w = S[C[g]]
                    g2 = g + 1
                    while g2 < n and not P[g2] and S[C[g2]] == w:
                        g2 += 1
                    c_start, g = g, g2
                if not ok:
                    continue
                if kind == 0:
                    lo, hi = a, g
                    if w == FREE and g - c_start > 1 and rand() < 0.5:
                        hi = c_start + 1 + randrange(g - c_start - 1)
                    vals = [S[C[i]] for i in range(b, hi)] + [v] * (b - a)
                    cuts = (a, b, hi)
                else:
                    lo, hi = a, g
                    vals = [S[C[i]] for i in range(c_start, g)] + [S[C[i]] for i in range(b, c_start)] + [v] * (b - a)
                    cuts = (a, b, c_start, g)
            else:  # move left
                g = a
                ok = True
                for _ in range(steps):
                    if g <= 0 or P[g - 1]:
                        ok = False
                        break
                    w = S[C[g - 1]]
                    g2 = g - 1
                    while g2 > 0 and not P[g2 - 1] and S[C[g2 - 1]] == w:
                        g2 -= 1
                    c_end, g = g, g2
                if not ok:
                    continue
                lo, hi = g, b
                if w == FREE and c_end - g > 1 and rand() < 0.5:
                    lo = g + 1 + randrange(c_end - g - 1)
                vals = [v] * (b - a) + [S[C[i]] for i in range(lo, a)]
                cuts = (lo, a, b)
            # runs: only a cut inside a run of a department can add a run
            check = None  # departments whose runs must be recounted
            split = False
            for c in cuts:
                if 0 < c < n:
                    u = S[C[c - 1]]
                    if u >= 0 and u == S[C[c]]:
                        if mr[u] <= 1:
                            split = True
                            break
                        if check is None:
                            check = [u]
                        elif u not in check:
                            check.append(u)
            if split:
                continue
            # delta
            delta = 0.0
            off = res.offset
            prev = res.prev
            for j in range(hi - lo):
                p = C[lo + j]
                o = S[p]
                nv = vals[j]
                if o == nv:
                    continue
                m = off + p
                if o >= 0:
                    k = o * H + m
                    x_ = load[k]
                    delta += 1 - 2 * (x_ - fair[k])
                    if x_ > cap[k]:
                        delta -= W_OVER
                if nv >= 0:
                    k = nv * H + m
                    x_ = load[k]
                    delta += 1 + 2 * (x_ - fair[k])
                    if x_ >= cap[k]:
                        delta += W_OVER
                if cw and prev is not None:
                    pv = prev[p]
                    delta += cw * ((nv != pv) - (o != pv))
            if delta > 0 and (temp <= 0 or rand() >= exp(-delta / temp)):
                continue
            old = [S[C[i]] for i in range(lo, hi)]
            for j in range(hi - lo):
                S[C[lo + j]] = vals[j]
            if check is not None or res.year_mins:
                bad = False
                if check is not None:
                    for u in check:
                        if res.runs(S, u) > mr[u]:
                            bad = True
                            break
                if not bad:
                    for d, ylo, yhi, minimum in res.year_mins:
                        if S[ylo:yhi].count(d) < minimum:
                            bad = True
                            break
                if bad:
                    for j in range(hi - lo):
                        S[C[lo + j]] = old[j]
                    continue
            for j in range(hi - lo):
                p = C[lo + j]
                o = old[j]
                nv = vals[j]
                if o != nv:
                    if o >= 0:
                        load[o * H + off + p] -= 1
                    if nv >= 0:
                        load[nv * H + off + p] += 1
            accepted += 1
        self.moves += moves
        self.accepted += accepted


# --- the driver ---------------------------------------------------------------------------------


def _prepare(problem: Problem, replan: bool):
    choice = choose_electives(problem, use_previous=replan)
    residents = [_Resident(i, r, choice.requirements[i], problem.first_month) for i, r in enumerate(problem.residents)]
    return choice, residents


def _rank_stats(problem: Problem, choice) -> dict:
    ranks = [rank for row in choice.ranks for rank in row if rank >= 0]
    return {
        "groups": choice.groups,
        "first_choice": choice.first_choice,
        "mean_rank": (sum(ranks) / len(ranks) + 1) if ranks else None,
        "rank_counts": {str(k + 1): ranks.count(k) for k in sorted(set(ranks))},
    }


def _final_preferences(residents: list[_Resident]) -> dict:
    """Preference figures for the electives the schedule ended with (repair may have changed some)."""
    groups = first = 0
    ranks: list[int] = []
    for res in residents:
        r = res.resident
        for g, group in enumerate(r.electives):
            prefs = [o for o in (r.preferences[g] if g < len(r.preferences) else ()) if o not in res.mandatory]
            if not prefs:
                continue
            groups += 1
            picks = [o for o in group.options if o in res.reqs and o not in res.mandatory]
            ranked = prefs + [o for o in group.options if o not in prefs and o not in res.mandatory]
            if set(picks) == set(ranked[: group.choose]):
                first += 1
            if picks:
                ranks.append(max(ranked.index(o) for o in picks))
    return {
        "groups": groups,
        "first_choice": first,
        "mean_rank": (sum(ranks) / len(ranks) + 1) if ranks else None,
        "rank_counts": {str(k + 1): ranks.count(k) for k in sorted(set(ranks))},
    }


def _unresolved(problem: Problem, state: _State) -> list[Reason]:
    reasons = []
    H = state.H
    by_department: dict[int, list[int]] = {}
    for d, t in state.overflow_cells():
        by_department.setdefault(d, []).append(t)
    for d, cells in sorted(by_department.items()):
        who = set()
        for t in cells:
            for r in state.cover[t]:
                res = state.residents[r]
                if state.sched[r][t - res.offset] == d:
                    who.add(r)
        reasons.append(
            Reason(
                "unresolved",
                d,
                [problem.first_month + t for t in cells],
                sorted(who),
                {
                    "department": problem.departments[d].name,
                    "months": [month_label(problem.first_month + t) for t in cells],
                    "over": sum(state.load[d * H + t] - state.cap[d * H + t] for t in cells),
                    "capacity": [state.cap[d * H + t] for t in cells],
                    "load": [state.load[d * H + t] for t in cells],
                },
            )
        )
    return reasons


REPLAN_SHARE = 0.6  # re-planning gets this share of the time; a fresh plan the rest if it leaves overflow


def solve(
    problem: Problem,
    *,
    time_limit: float = 60,
    seed: int = 0,
    progress: Callable[[float, str], None] | None = None,
    replan: bool = False,
    workers: int = 2,
) -> Result:
    """The best schedule found within `time_limit` seconds, or why there is none.

    Re-planning keeps the published months where it can; when that cannot remove every
    overflow (a big department closed for months after publication), a fresh plan within the
    remaining time is better than none: the hard constraints come before "few changes".
    """
    if not replan:
        return _solve(problem, time_limit=time_limit, seed=seed, progress=progress, replan=False, workers=workers)
    began = time.perf_counter()
    result = _solve(
        problem, time_limit=time_limit * REPLAN_SHARE, seed=seed, progress=progress, replan=True, workers=workers
    )
    if result.feasible or any(r.kind != "unresolved" for r in result.explanation):
        return result
    remaining = time_limit - (time.perf_counter() - began)
    fresh = _solve(problem, time_limit=max(1.0, remaining), seed=seed, progress=progress, replan=False, workers=workers)
    if not fresh.feasible:
        return result
    fresh.stats["replan_fell_back"] = True
    changed = [
        sum(1 for i, v in enumerate(months) if res.previous.get(res.start + i, v) != v)
        for res, months in zip(problem.residents, fresh.schedule, strict=True)
    ]
    fresh.stats["changes"] = sum(changed)
    fresh.stats["changed_residents"] = sum(1 for c in changed if c)
    return fresh


def _solve(
    problem: Problem,
    *,
    time_limit: float,
    seed: int,
    progress: Callable[[float, str], None] | None,
    replan: bool,
    workers: int,
) -> Result:
    began = time.perf_counter()
    deadline = began + max(0.05, time_limit)
    rng = random.Random(seed)
    trace: list[tuple[float, float]] = []
    phases: dict[str, float] = {}
    last_report = [0.0]

    def report(fraction: float, phrase: str, force: bool = False) -> None:
        now = time.perf_counter()
        if progress is not None and (force or now - last_report[0] >= 0.5):
            last_report[0] = now
            progress(min(1.0, max(0.0, fraction)), phrase)

    def elapsed() -> float:
        return time.perf_counter() - began

    report(0.0, "Choosing electives", force=True)
    choice, residents = _prepare(problem, replan)
    reasons = elective_reasons(problem, choice.impossible)
    reasons += resident_reasons(problem, choice.requirements)
    if not reasons:
        reasons += capacity_reasons(problem, choice.requirements)
    stats: dict = {"residents": len(problem.residents), "preferences": _rank_stats(problem, choice)}
    if reasons:
        stats["elapsed"] = elapsed()
        report(1.0, "No schedule exists", force=True)
        return Result(None, False, reasons, stats, trace)

    state = _State(problem, residents)
    phases["electives"] = elapsed()

    # --- starting point ---
    report(0.02, "Building a first schedule", force=True)
    frozen: set[int] = set()
    order = sorted(range(len(residents)), key=lambda r: (not residents[r].has_pins, residents[r].offset, r))
    if replan:
        for r in order:
            res = residents[r]
            if res.prev is None:
                continue
            months = [res.fixed.get(p, res.prev[p]) for p in range(res.length)]
            if res.valid(months) and months == res.prev:
                state.place(r, months)
                frozen.add(r)
    failed = []
    for r in order:
        if r in frozen:
            continue
        months = _construct(state, residents[r], rng)
        if months is None:
            failed.append(r)
            continue
        state.place(r, months)
    for r in failed:
        new_reqs = {}
        got = _cp_neighbourhood(
            state,
            [r],
            time_limit=2.0,
            seed=seed,
            workers=workers,
            hint=False,
            balance=False,
            soft=True,
            electives=True,
            out_requirements=new_reqs,
        )
        if got is None:
            reasons.append(
                Reason(
                    "window",
                    None,
                    [],
                    [r],
                    {"resident": problem.residents[r].name, "needed": None, "available": None},
                )
            )
            continue
        if r in new_reqs:
            state.change_requirements(r, new_reqs[r])
        state.place(r, got[r])
    if reasons:
        stats["elapsed"] = elapsed()
        return Result(None, False, reasons, stats, trace)
    phases["construction"] = elapsed()
    trace.append((elapsed(), state.balance_sum()))

    movable = [r for r in range(len(residents)) if r not in frozen]
    search = _Search(state, rng, movable, change_weight=W_CHANGE if replan else 0)
    best = [state.overflow(), state.balance_sum(), [list(m) for m in state.sched]]

    def snapshot() -> None:
        over, bal = state.overflow(), state.balance_sum()
        trace.append((elapsed(), bal))
        if (over, bal) < (best[0], best[1]):
            best[0], best[1], best[2] = over, bal, [list(m) for m in state.sched]

    lower = _lower_bound(problem, state)

    def tick() -> None:
        snapshot()
        report(elapsed() / max(1e-6, deadline - began), "Balancing departments")

    def unfreeze() -> None:
        """Release residents sitting in overflowing months: as many per department-month as it is over.

        A department closed for a month after publication may be over by a whole cohort; releasing
        one resident per round would never get there (the bench closed 普通外科 for two months).
        """
        H = state.H
        added = set()
        for d, t in state.overflow_cells():
            over = state.load[d * H + t] - state.cap[d * H + t]
            for r in state.cover[t]:
                if over <= 0:
                    break
                res = residents[r]
                if r in frozen and r not in added and state.sched[r][t - res.offset] == d:
                    added.add(r)
                    over -= 1
        if not added or unfreeze_rounds >= RELEASE_ALL_AFTER:
            # Those in the full months are free and it still does not fit: room must be made elsewhere,
            # so everyone may move; the change penalty keeps the published months where it can.
            added = set(frozen)
        frozen.difference_update(added)
        # The released residents of overflowing months are laid out again around today's capacities
        # (a constructed plan, not a walk from the old one); the search then pulls them back towards
        # their published months where it can.
        for r in sorted(added, key=lambda r: residents[r].offset):
            res = residents[r]
            if not any(
                state.load[v * H + res.offset + p] > state.cap[v * H + res.offset + p]
                for p, v in enumerate(state.sched[r])
                if v >= 0
            ):
                continue
            before = list(state.sched[r])
            state.place(r, res.blank())
            months = _construct(state, res, rng)
            state.place(r, months if months is not None else before)
        search.movable = [r for r in range(len(residents)) if r not in frozen]
        search.movable_set = set(search.movable)

    # --- improvement ---
    iterations = 0
    cp_tries = cp_accepted = elective_changes = 0
    unfreeze_rounds = 0
    proven = False
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        if best[0] == 0 and lower is not None and best[1] <= lower + 1e-6:
            break
        if not search.movable:
            if not (replan and state.overflow() > 0 and unfreeze_rounds < MAX_UNFREEZE_ROUNDS):
                break
            # every previous schedule was valid on its own, but together they overflow (e.g. months closed since)
            unfreeze_rounds += 1
            unfreeze()
            continue
        iterations += 1
        remaining = deadline - now
        small = len(search.movable) <= SMALL
        if small:
            chunk = min(remaining, 0.2)
        else:
            chunk = min(remaining, max(0.3, min(5.0, (deadline - began) * 0.1)))
        search.refresh_hot()
        t_hi = 4.0 if iterations == 1 else 1.0
        search.run(
            now + chunk * (0.6 if not replan else 1.0),
            t_hi,
            0.05,
            tick,
            max_moves=(SMALL_MOVES // 10 if state.overflow() else SMALL_MOVES) if small else None,
        )
        snapshot()
        if replan and state.overflow() > 0 and unfreeze_rounds < MAX_UNFREEZE_ROUNDS:
            unfreeze_rounds += 1
            unfreeze()
            continue
        if replan and (not search.movable or (state.overflow() == 0 and iterations >= 3)):
            break
        if deadline - time.perf_counter() < 0.2:
            continue
        budget = deadline - time.perf_counter()
        repair = state.overflow() > 0
        cp_time = min(2.0, budget * (0.9 if repair else 0.5))
        if len(search.movable) <= SMALL:
            chosen = list(search.movable)
        else:
            chosen = _pick_neighbourhood(state, rng, search.movable_set)
        if not chosen:
            continue
        cp_tries += 1
        before = (state.overflow(), state.balance_sum())
        new_reqs: dict[int, tuple[Requirement, ...]] = {}
        info: dict = {}
        got = _cp_neighbourhood(
            state,
            chosen,
            time_limit=cp_time,
            seed=seed + iterations,
            workers=workers,
            balance=not repair,
            change_weight=W_CHANGE if replan else 0,
            electives=repair,
            out_requirements=new_reqs,
            deterministic=small and not repair,
            wall_limit=budget,
            info=info,
        )
        if got:
            saved = {r: (state.sched[r], residents[r].requirements) for r in got}
            for r, months in got.items():
                if r in new_reqs:
                    state.change_requirements(r, new_reqs[r])
                state.place(r, months)
            after = (state.overflow(), state.balance_sum())
            if after <= before or after[0] < before[0]:
                cp_accepted += 1
                elective_changes += len(new_reqs)
                snapshot()
                if small and not repair and info.get("optimal") and after[0] == 0 and not replan:
                    proven = True
                    break
            else:
                for r, (months, reqs) in saved.items():
                    if r in new_reqs:
                        state.change_requirements(r, reqs)
                    state.place(r, months)
        report(elapsed() / max(1e-6, deadline - began), "Balancing departments")
    phases["search"] = elapsed()

    # the best schedule seen
    for r, months in enumerate(best[2]):
        state.place(r, months)
    overflow = state.overflow()
    stats.update(
        {
            "elapsed": elapsed(),
            "iterations": iterations,
            "moves": search.moves,
            "accepted": search.accepted,
            "cp_tries": cp_tries,
            "cp_accepted": cp_accepted,
            "elective_changes": elective_changes,
            "proven_optimal": proven,
            "phases": phases,
            "overflow": overflow,
            "balance_sum": state.balance_sum(),
            "lower_bound_sum": lower,
            "changes": state.change_count() if replan else 0,
            "changed_residents": sum(
                1
                for res, months in zip(residents, state.sched, strict=True)
                if res.prev is not None and months != res.prev
            )
            if replan
            else 0,
        }
    )
    stats["preferences"] = _final_preferences(residents)
    report(1.0, "Done", force=True)
    if overflow:
        return Result(None, False, _unresolved(problem, state), stats, trace)
    return Result([list(m) for m in state.sched], True, [], stats, trace)


def _lower_bound(problem: Problem, state: _State) -> float | None:
    try:
        from .metrics import lower_bound
    except ImportError:  # pragma: no cover
        return None
    H = state.H
    total = 0.0
    for d in range(state.D):
        cells = state.dep_cells[d]
        if not cells:
            continue
        fair = [state.fair[d * H + t] for t in cells]
        caps = [state.cap[d * H + t] for t in cells]
        amount = sum(state.load[d * H + t] for t in cells)
        total += lower_bound(fair, caps, amount)
    return total


def _pick_neighbourhood(state: _State, rng: random.Random, movable: set[int], size: int = 30) -> list[int]:
    """Residents touching the worst department (or an overflowing one) around its extreme months."""
    H = state.H
    if state.overflow():
        d, t = rng.choice(state.overflow_cells())
    else:
        weights = [state.imbalance(d) for d in range(state.D)]
        if not any(weights):
            return []
        d = rng.choices(range(state.D), weights=[w * w for w in weights])[0]
        cells = state.dep_cells[d]
        devs = sorted(cells, key=lambda t: state.load[d * H + t] - state.fair[d * H + t])
        t = devs[-1] if rng.random() < 0.5 else devs[0]
    # residents needing d whose window covers t, nearest runs of d first
    candidates = []
    for r in state.cover[t]:
        if r not in movable:
            continue
        res = state.residents[r]
        if d not in res.reqs or res.need[d] <= 0:
            continue
        months = state.sched[r]
        where = [p for p in range(res.length) if months[p] == d]
        distance = min(abs(p + res.offset - t) for p in where) if where else 99
        candidates.append((distance + rng.random() * 3, r))
    candidates.sort()
    return [r for _, r in candidates[:size]]
