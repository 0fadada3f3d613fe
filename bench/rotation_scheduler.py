"""How the rotation scheduler does on generated hospitals of 200, 1,000 and 5,000 residents.

    .venv/bin/python bench/rotation_scheduler.py --residents 200 1000 5000 --seconds 60 --seed 1
    .venv/bin/python bench/rotation_scheduler.py --residents 5000 --seconds 120 --json > big.json
    .venv/bin/python bench/rotation_scheduler.py --table small.json big.json   # one table from saved runs

Each size runs in a fresh subprocess (so its peak resident memory is its own): it generates the
hospital (`rotation.scheduling.generate.hospital`: 5 bases up to 1,000 residents, 7 above, three
September intakes with some late starters, capacities 1.1 × the peak fair demand), then prints the
problem's size, the naive schedule (programme order from the start month, no capacities: what
spreadsheets do today) and the solver's result: hard-constraint violations (must be 0), imbalance
sum and max against the lower bound, the best balance its trace had reached by 5, 10 and 60 s,
time, peak memory and how many residents got their first-choice electives. A Markdown table for
docs/performance.md comes last. No Django; nothing here asserts a time.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rotation.scheduling import generate, metrics  # noqa: E402


def default_bases(residents: int) -> int:
    """The issue's sizes: a 1,000-resident hospital has 5 bases, a 5,000-resident one 7."""
    return 5 if residents <= 1000 else 7


def first_choice_rate(problem, schedule) -> float | None:
    """Share of (resident, elective group) pairs that got exactly their top `choose` options."""
    hits = total = 0
    for resident, months in zip(problem.residents, schedule, strict=True):
        taken = set(months)
        for group, ranked in zip(resident.electives, resident.preferences, strict=False):
            total += 1
            chosen = {d for d in group.options if d in taken}
            hits += chosen == set(ranked[: group.choose])
    return hits / total if total else None


def at(trace, seconds: float, limit: float):
    """The best (lowest) trace value seen by `seconds`; None past the time limit or before the first sample.

    The solver's trace samples the balance sum of its current state, which may still overflow a
    capacity early on; what it returns is its best overflow-free state, so "best by T" is what
    stopping at T would roughly have given.
    """
    if seconds > limit + 1:
        return None
    values = [sample[1] for sample in trace or () if sample[0] <= seconds]
    return round(min(values), 2) if values else None


def peak_mib() -> tuple[float, float]:
    """Peak RSS of this process and of its largest waited-for child (worker processes), in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def measure(args: argparse.Namespace, residents: int) -> dict:
    """One size, in this process: generate, baseline, solve, judge."""
    log = sys.stderr
    bases = args.bases or default_bases(residents)
    started = time.perf_counter()
    problem = generate.hospital(
        residents,
        bases,
        args.seed,
        slack=args.slack,
        pinned_share=args.pinned_share,
        leave_share=args.leave_share,
        path=args.domain,
    )
    out: dict = {
        "residents": residents,
        "bases": bases,
        "seed": args.seed,
        "pinned_share": args.pinned_share,
        "leave_share": args.leave_share,
        "departments": len(problem.departments),
        "horizon_months": problem.horizon,
        "resident_months": sum(generate.required_months(r) for r in problem.residents),
        "capacity_peak_total": max(sum(row[t] for row in problem.capacity) for t in range(problem.horizon)),
        "closed_department_months": sum(1 for row in problem.capacity for x in row if x == 0),
        "pinned_months": sum(len(r.pinned) for r in problem.residents),
        "generate_seconds": round(time.perf_counter() - started, 2),
    }
    print(
        f"[{residents}] {bases} bases, {out['departments']} departments, {out['horizon_months']} months, "
        f"{out['resident_months']} resident-months, generated in {out['generate_seconds']} s",
        file=log,
        flush=True,
    )

    try:
        from rotation.scheduling.diagnose import diagnose
    except ImportError:
        out["diagnose"] = None
    else:
        started = time.perf_counter()
        reasons = diagnose(problem)
        out["diagnose"] = {"reasons": len(reasons), "seconds": round(time.perf_counter() - started, 2)}
        if reasons:
            out["diagnose"]["first"] = str(reasons[0])[:300]
        print(f"[{residents}] diagnose: {len(reasons)} reasons", file=log, flush=True)

    started = time.perf_counter()
    baseline = metrics.naive(problem)
    violations = metrics.validate(problem, baseline)
    judged = metrics.balance(problem, baseline)
    kinds: dict[str, int] = {}
    for violation in violations:
        kinds[violation.kind] = kinds.get(violation.kind, 0) + 1
    out["naive"] = {
        "violations": kinds,
        "over_capacity": kinds.get("capacity", 0),
        "imbalance_sum": round(judged.sum, 2),
        "imbalance_max": round(judged.max, 2),
        "lower_bound_sum": round(judged.lower_bound_sum, 2),
        "lower_bound_max": round(judged.lower_bound_max, 2),
        "ratio": round(judged.ratio, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }
    print(
        f"[{residents}] naive: {kinds.get('capacity', 0)} department-months over capacity, other violations "
        f"{ {k: v for k, v in kinds.items() if k != 'capacity'} }, imbalance {judged.sum:.1f} "
        f"(lower bound {judged.lower_bound_sum:.1f}, ratio {judged.ratio:.2f})",
        file=log,
        flush=True,
    )

    from rotation.scheduling.solver import solve

    started, cpu = time.perf_counter(), time.process_time()
    result = solve(problem, time_limit=args.seconds, seed=args.seed, workers=args.workers)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    solved: dict = {
        "feasible": bool(result.feasible),
        "seconds": round(elapsed, 1),
        "cpu_seconds_main": round(cpu, 1),
        "explanation": str(result.explanation)[:500] if result.explanation else None,
        "stats": _jsonable(result.stats),
    }
    if result.schedule is not None:
        violations = metrics.validate(problem, result.schedule)
        judged = metrics.balance(problem, result.schedule)
        kinds = {}
        for violation in violations:
            kinds[violation.kind] = kinds.get(violation.kind, 0) + 1
        rate = first_choice_rate(problem, result.schedule)
        solved.update(
            {
                "violations": len(violations),
                "violation_kinds": kinds,
                "imbalance_sum": round(judged.sum, 2),
                "imbalance_max": round(judged.max, 2),
                "lower_bound_sum": round(judged.lower_bound_sum, 2),
                "lower_bound_max": round(judged.lower_bound_max, 2),
                "ratio": round(judged.ratio, 2),
                "first_choice": round(rate, 3) if rate is not None else None,
            }
        )
    trace = list(result.trace or [])
    solved["trace_at"] = {str(s): at(trace, s, args.seconds) for s in (5, 10, 60, 120)}
    solved["trace_samples"] = len(trace)
    # the targets: within 2.5× the lower bound at 1,000 residents, 4× at 5,000
    target = args.target or (2.5 if residents <= 1000 else 4.0)
    solved["target"] = target
    solved["target_reached_at"] = None
    if "lower_bound_sum" in solved:
        reached = [t for t, value, *_ in trace if value <= target * solved["lower_bound_sum"]]
        solved["target_reached_at"] = round(min(reached), 1) if reached else None
    solved["trace"] = [[round(float(s[0]), 2), s[1]] for s in trace][:200]
    own, children = peak_mib()
    solved["peak_mib"] = round(own, 1)
    solved["peak_mib_children"] = round(children, 1)
    out["solver"] = solved
    print(
        f"[{residents}] solver: feasible={solved['feasible']} violations={solved.get('violations')} "
        f"imbalance {solved.get('imbalance_sum')} (ratio {solved.get('ratio')}), max {solved.get('imbalance_max')}, "
        f"{elapsed:.1f} s, peak {own:.0f} MiB (+ workers {children:.0f} MiB), "
        f"first choice {solved.get('first_choice')}, best by 5/10/60/120 s: "
        f"{[solved['trace_at'][k] for k in ('5', '10', '60', '120')]}",
        file=log,
        flush=True,
    )
    return out


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        if isinstance(value, dict):
            return {str(k): _jsonable(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [_jsonable(v) for v in value]
        return repr(value)


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(results: list[dict]) -> str:
    """The Markdown table for docs/performance.md."""
    rows = [
        "| residents / bases | seed | depts | resident-months | lower bound | naive: over-cap | naive: imbalance "
        "| violations | imbalance | max (its LB) | best by 5 / 10 / 60 s | target × LB reached at | time (CPU) s "
        "| peak MiB | 1st choice |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for r in results:
        label = f"{r['residents']:,}"
        if "error" in r:
            rows.append(f"| {label} | – | – | – | – | – | – | error: {r['error'][:60]} |")
            continue
        label += f" / {r['bases']}"
        if r.get("pinned_share") or r.get("leave_share"):
            label += f" (re-plan: {r['pinned_share']:.0%} pinned, {r['leave_share']:.0%} leave)"
        n, s = r["naive"], r["solver"]
        ratio = f"{_fmt(s.get('imbalance_sum'))} ({_fmt(s.get('ratio'), 2)}×)" if "ratio" in s else "no schedule"
        trace = " / ".join(_fmt(s["trace_at"].get(k)) for k in ("5", "10", "60"))
        peak = s["peak_mib"] + s["peak_mib_children"]
        first = f"{s['first_choice']:.1%}" if s.get("first_choice") is not None else "–"
        reached = s.get("target_reached_at")
        reached = f"{s['target']:g}×: {reached:.1f} s" if reached is not None else f"{s.get('target', '?')}×: no"
        rows.append(
            f"| {label} | {r['seed']} | {r['departments']} | {r['resident_months']:,} "
            f"| {_fmt(s.get('lower_bound_sum', n['lower_bound_sum']))} | {n['over_capacity']:,} "
            f"| {_fmt(n['imbalance_sum'])} ({_fmt(n['ratio'], 2)}×) | {_fmt(s.get('violations'))} | {ratio} "
            f"| {_fmt(s.get('imbalance_max'), 2)} ({_fmt(s.get('lower_bound_max'), 2)}) | {trace} | {reached} "
            f"| {_fmt(s['seconds'])} ({_fmt(s['cpu_seconds_main'])}) | {peak:,.0f} | {first} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--seconds", type=float, default=60, help="the solver's time limit per size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bases", type=int, default=None, help="default: 5 up to 1,000 residents, else 7")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slack", type=float, default=1.1, help="capacity = ceil(slack × peak fair demand)")
    parser.add_argument("--pinned-share", type=float, default=0.0, help="share of residents re-planned mid-way")
    parser.add_argument("--leave-share", type=float, default=0.0)
    parser.add_argument("--domain", help="rotation_programs.yaml to use (default: see generate.domain_path)")
    parser.add_argument("--target", type=float, default=None, help="ratio to the lower bound (2.5 / 4 by size)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    parser.add_argument("--table", nargs="+", metavar="FILE", help="only print the table of earlier --json outputs")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size here
    args = parser.parse_args()

    if args.table:
        print(table([r for name in args.table for r in json.loads(Path(name).read_text(encoding="utf-8"))]))
        return

    if args.one is not None:
        json.dump(measure(args, args.one), sys.stdout)
        return

    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.1f}; solver limit {args.seconds:g} s", file=sys.stderr)
    results = []
    forwarded = [a for a in sys.argv[1:] if a != "--json"]
    for residents in args.residents:
        argv = [sys.executable, __file__, *_without_sizes(forwarded), "--one", str(residents)]
        done = subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:
            results.append({"residents": residents, "error": f"exit status {done.returncode}"})
            continue
        results.append(json.loads(done.stdout))
    if args.json:
        json.dump(results, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(table(results))


def _without_sizes(argv: list[str]) -> list[str]:
    """The command line minus `--residents N ...` (each child gets `--one N`)."""
    kept, skipping = [], False
    for arg in argv:
        if arg == "--residents":
            skipping = True
            continue
        if skipping and not arg.startswith("--"):
            continue
        skipping = False
        kept.append(arg)
    return kept


if __name__ == "__main__":
    main()
