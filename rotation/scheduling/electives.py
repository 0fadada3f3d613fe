"""Which elective options each resident gets: by preference, while the option has room.

An option is passed over when the residents already placed there (and whose windows lie inside
this resident's window) would need more months than its capacity over that window allows, or
when it would break the programme's collaborating-site limits. Senior cohorts choose first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from .problem import Problem, Requirement, Resident

# An option counts as full once its demand reaches this share of its capacity over the window:
# the schedule also needs room to move blocks around.
ROOM = 0.95


@dataclass
class ElectiveChoice:
    requirements: list[tuple[Requirement, ...]]  # per resident: mandatory + chosen options
    chosen: list[list[tuple[int, ...]]]  # per resident, per group: the chosen options
    ranks: list[list[int]] = field(default_factory=list)  # per resident, per group: worst rank used (0 = first)
    first_choice: int = 0  # groups where the resident got exactly the options ranked first
    groups: int = 0
    impossible: list[tuple[int, int]] = field(default_factory=list)  # (resident, group) with no valid choice


def _site_ok(problem: Problem, resident: Resident, departments: list[int], months: dict[int, int]) -> bool:
    limits = resident.site_limits
    collab = [d for d in departments if problem.departments[d].collaborating]
    if limits.max_departments is not None and len(collab) > limits.max_departments:
        return False
    if limits.max_sites is not None:
        sites = {problem.departments[d].site for d in collab}
        if len(sites) > limits.max_sites:
            return False
    if limits.max_months is not None and sum(months.get(d, 0) for d in collab) > limits.max_months:
        return False
    return True


def _search(
    problem: Problem,
    r: Resident,
    groups: list,
    chosen: dict[int, tuple[int, ...]],
    k: int,
    deps: list[int],
    months_now: dict[int, int],
) -> bool:
    """Depth-first over the groups: the best-ranked combination that keeps the site limits."""
    if k == len(groups):
        return True
    g, group, candidates, _, n_forced = groups[k]
    if len(candidates) < group.choose:
        return False
    tried = 0
    for combo in combinations(range(len(candidates)), group.choose):
        if any(j not in combo for j in range(min(n_forced, group.choose))):
            continue
        tried += 1
        if tried > 200:
            break
        picks = [candidates[j] for j in combo]
        if any(p in deps for p in picks):
            continue
        new_months = dict(months_now)
        for p in picks:
            new_months[p] = group.months_each
        if not _site_ok(problem, r, deps + picks, new_months):
            continue
        chosen[g] = tuple(picks)
        if _search(problem, r, groups, chosen, k + 1, deps + picks, new_months):
            return True
    return False


def _forced(resident: Resident, options: tuple[int, ...], use_previous: bool) -> list[int]:
    """Options the resident has started (pinned) or, when re-planning, was scheduled in."""
    seen = []
    sources = [resident.pinned]
    if use_previous:
        sources.append(resident.previous)
    for source in sources:
        for month, value in source.items():
            if value in options and value not in seen and resident.start <= month < resident.end:
                seen.append(value)
    return seen


def choose_electives(problem: Problem, *, use_previous: bool = False) -> ElectiveChoice:
    n_dep = len(problem.departments)
    first = problem.first_month
    horizon = problem.horizon
    prefix = []
    for d in range(n_dep):
        acc = [0]
        for c in problem.capacity[d]:
            acc.append(acc[-1] + max(0, c))
        prefix.append(acc)

    def cap_over(d: int, start: int, end: int) -> int:
        a = min(max(start - first, 0), horizon)
        b = min(max(end - first, 0), horizon)
        return prefix[d][b] - prefix[d][a]

    # demand[d][(start, end)]: months of d needed by residents with exactly that window
    demand: list[dict[tuple[int, int], int]] = [dict() for _ in range(n_dep)]
    for r in problem.residents:
        for req in r.requirements:
            key = (r.start, r.end)
            demand[req.department][key] = demand[req.department].get(key, 0) + req.months

    def room(d: int, resident: Resident, months: int) -> float:
        """Spare capacity ratio of d over the resident's window after adding `months`."""
        need = months
        for (s, e), m in demand[d].items():
            if s >= resident.start and e <= resident.end:
                need += m
        cap = cap_over(d, resident.start, resident.end)
        if cap <= 0:
            return float("inf")
        return need / cap

    order = sorted(range(len(problem.residents)), key=lambda i: (problem.residents[i].start, i))
    result = ElectiveChoice(
        requirements=[tuple(r.requirements) for r in problem.residents],
        chosen=[[] for _ in problem.residents],
        ranks=[[] for _ in problem.residents],
    )
    for i in order:
        r = problem.residents[i]
        if not r.electives:
            continue
        mandatory = [req.department for req in r.requirements]
        months = {req.department: req.months for req in r.requirements}
        ordered_groups = []
        for g, group in enumerate(r.electives):
            prefs = r.preferences[g] if g < len(r.preferences) else ()
            options = [o for o in group.options if o not in mandatory]
            forced = [o for o in _forced(r, tuple(options), use_previous)]
            ranked = [o for o in prefs if o in options]
            ranked += [o for o in options if o not in ranked]
            fits = []
            for o in ranked:
                open_months = sum(
                    1
                    for m in r.months()
                    if r.pinned.get(m, o) == o and 0 <= m - first < horizon and problem.capacity[o][m - first] > 0
                )
                ratio = room(o, r, group.months_each)
                fits.append((o, open_months >= group.months_each, ratio))
            good = [o for o, ok, ratio in fits if ok and ratio <= ROOM]
            tight = sorted((ratio, ranked.index(o), o) for o, ok, ratio in fits if ok and ratio > ROOM)
            candidates = [o for o in forced if o in options]
            candidates += [o for o in good if o not in candidates]
            candidates += [o for _, _, o in tight if o not in candidates]
            ordered_groups.append((g, group, candidates, ranked, len(forced)))

        chosen: dict[int, tuple[int, ...]] = {}
        if not _search(problem, r, ordered_groups, chosen, 0, list(mandatory), months):
            # no combination satisfies the site limits: take the preferred options and report it
            for g, group, candidates, _, _ in ordered_groups:
                chosen[g] = tuple(candidates[: group.choose])
                result.impossible.append((i, g))
        reqs = list(r.requirements)
        chosen_list = []
        rank_list = []
        for g, group, _candidates, ranked, _ in ordered_groups:
            picks = chosen.get(g, ())
            chosen_list.append(picks)
            for p in picks:
                reqs.append(Requirement(p, group.months_each, group.max_runs))
                key = (r.start, r.end)
                demand[p][key] = demand[p].get(key, 0) + group.months_each
            prefs = r.preferences[g] if g < len(r.preferences) else ()
            if prefs:
                result.groups += 1
                ranks = [ranked.index(p) for p in picks if p in ranked]
                rank_list.append(max(ranks) if ranks else -1)
                if set(picks) == set(ranked[: group.choose]):
                    result.first_choice += 1
            else:
                rank_list.append(-1)
        result.requirements[i] = tuple(reqs)
        result.chosen[i] = chosen_list
        result.ranks[i] = rank_list
    return result
