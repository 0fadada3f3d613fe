"""Ingest rate of log documents and aggregation time over them, on the embedded MongoDB.

    nice -n 10 .venv/bin/python bench/log_ingest.py [--docs 1000000] [--batch 500] [--runs 2] [--without-keys]
    ZHUPEI_VAR_DIR=/tmp/zhupei-bench-ingest-XXXX .venv/bin/python bench/log_ingest.py --reuse
    ZHUPEI_VAR_DIR=/tmp/a-copy .venv/bin/python bench/log_ingest.py --reuse --runs 1 --prune   # DELETES data
    MONGODB_URI=mongodb://... .venv/bin/python bench/log_ingest.py    # against a real MongoDB

Generates request-log documents shaped like the middleware's (7 days, 40 URL names, 8 roles,
log-normal durations, 1 % server errors), writes them through audit_logs.writer.write() in
batches (the path the background flusher takes; it stamps each document's minute_key), then runs
the hourly/daily roll-up over the whole period (audit_logs.aggregation.aggregate, a full
re-aggregation of every day, statistics dropped first) --runs times: run 1 writes every statistic,
run 2 shows it is safe to re-run (it reads everything again and writes nothing). With
--without-keys the documents are inserted as versions before minute_key wrote them, and the time
the roll-up takes to stamp them is shown on its own. Checks that the daily statistics count every
document, and prints docs/s, seconds and the peak memory of this process. The data stays in
ZHUPEI_VAR_DIR (a new directory under /tmp unless set) for --reuse. With --prune it then runs
retention (audit_logs.retention.prune) with a clock set so that the cutoff falls in the middle of
the week (about half the logs and statistics go) and prints its time and its longest delete: this
deletes documents, so run it on a copy of the data directory.
"""

import argparse
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
if not os.environ.get("ZHUPEI_VAR_DIR"):  # (setdefault would create an empty directory on every --reuse)
    os.environ["ZHUPEI_VAR_DIR"] = tempfile.mkdtemp(prefix="zhupei-bench-ingest-")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, help="documents per insert (default LOG_BATCH_SIZE, the flusher's: 500)")
    parser.add_argument("--reuse", action="store_true", help="keep the documents of ZHUPEI_VAR_DIR; aggregate only")
    parser.add_argument("--runs", type=int, default=2, help="how many times to run the whole roll-up")
    parser.add_argument(
        "--without-keys", action="store_true", help="insert documents without minute_key, as older versions wrote them"
    )
    parser.add_argument("--prune", action="store_true", help="then time retention, cutoff mid-week (deletes data)")
    args = parser.parse_args()
    print(f"data: {os.environ['ZHUPEI_VAR_DIR']}", flush=True)

    server = None
    if not os.environ.get("MONGODB_URI"):
        from core.embedded_mongo import EmbeddedMongo, free_port

        server = EmbeddedMongo(db_path=Path(os.environ["ZHUPEI_VAR_DIR"]) / "mongo.db", port=free_port()).start()
        os.environ["MONGODB_URI"] = server.uri
    import django

    django.setup()
    from django.conf import settings

    from audit_logs import aggregation, writer
    from audit_logs.collections import REQUEST_LOG, REQUEST_STATS_DAILY, STAT_KEYS
    from core import mongo

    args.batch = args.batch or settings.LOG_BATCH_SIZE
    try:
        if not args.reuse:
            mongo.collection(REQUEST_LOG).drop()
        for name in STAT_KEYS:  # run 1 computes every statistic from scratch, also with --reuse
            mongo.collection(name).drop()
        mongo.ensure_indexes()
        rng = random.Random(20261122)
        url_names = [f"app{i % 8}:view{i}" for i in range(40)]
        roles = ["resident", "supervisor", "teaching_secretary", "department_head", "attendance_clerk",
                 "base_director", "training_office", "auditor"]  # fmt: skip
        end = datetime(2026, 11, 22, tzinfo=UTC)
        start = end - timedelta(days=7)
        span = (end - start).total_seconds()

        def doc() -> dict:
            status = 500 if rng.random() < 0.01 else (404 if rng.random() < 0.03 else 200)
            return {
                "_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "at": start + timedelta(seconds=rng.random() * span),
                "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "user_id": rng.randint(1, 500),
                "username": f"user{rng.randint(1, 500)}",
                "roles": [rng.choice(roles)],
                "url_name": rng.choice(url_names),
                "path": "/x/",
                "method": "GET",
                "status": status,
                "duration_ms": round(rng.lognormvariate(3.3, 0.6), 2),
                "ip": "10.0.0.1",
                "user_agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0",
            }

        written, t0 = 0, time.perf_counter()
        while written < args.docs and not args.reuse:
            n = min(args.batch, args.docs - written)
            if args.without_keys:
                mongo.collection(REQUEST_LOG).insert_many([doc() for _ in range(n)], ordered=False)
            else:
                writer.write(REQUEST_LOG, [doc() for _ in range(n)])
            written += n
            if written % 100_000 == 0:
                rate = written / (time.perf_counter() - t0)
                print(f"  {written:>9,} written, {rate:,.0f} docs/s", flush=True)
        ingest = time.perf_counter() - t0
        if not args.reuse:
            print(f"ingest: {args.docs:,} docs in {ingest:.1f} s = {args.docs / ingest:,.0f} docs/s", flush=True)

        t0 = time.perf_counter()
        stamped = aggregation.stamp_missing_keys()[REQUEST_LOG]
        print(f"keys stamped on older documents: {stamped:,} in {time.perf_counter() - t0:.1f} s", flush=True)
        for attempt in range(1, args.runs + 1):
            t0 = time.perf_counter()
            result = aggregation.aggregate(start, end)
            print(f"aggregate run {attempt}: {time.perf_counter() - t0:.1f} s -> {result}", flush=True)
        # Every generated document has one role: the daily statistics must count each exactly once.
        counted = sum(d.get("count", 0) for d in mongo.collection(REQUEST_STATS_DAILY).find({}, {"count": 1}))
        expected = "" if args.reuse else f" (written: {args.docs:,}{'' if counted == args.docs else ', MISMATCH'})"
        print(f"documents counted by the daily statistics: {counted:,}{expected}")
        if args.prune:
            prune(start + (end - start) / 2 + timedelta(days=settings.REQUEST_LOG_RETENTION_DAYS))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of the benchmark process: {peak:,.0f} MiB")
    finally:
        if server is not None:
            server.stop()


def prune(now: datetime) -> None:
    """Time retention.prune(now), recording how long each delete_many took."""
    from audit_logs import retention
    from audit_logs.collections import REQUEST_LOG
    from core import mongo

    timings: list[tuple[float, str, int]] = []
    original = mongo.collection

    class Timed:
        def __init__(self, target):
            self._target = target

        def delete_many(self, query, *args, **kwargs):
            t0 = time.perf_counter()
            result = self._target.delete_many(query, *args, **kwargs)
            timings.append((time.perf_counter() - t0, self._target.name, result.deleted_count))
            return result

        def __getattr__(self, name):
            return getattr(self._target, name)

    mongo.collection = lambda name: Timed(original(name))
    try:
        before = original(REQUEST_LOG).estimated_document_count()
        t0 = time.perf_counter()
        counts = retention.prune(now)
        took = time.perf_counter() - t0
    finally:
        mongo.collection = original
    after = original(REQUEST_LOG).estimated_document_count()
    print(f"prune: {took:.1f} s -> {counts} (request_log {before:,} -> {after:,})", flush=True)
    if timings:
        longest = max(timings)
        total = sum(t for t, _, _ in timings)
        print(
            f"  {len(timings)} deletes, {total:.1f} s in them; longest {longest[0]:.2f} s "
            f"({longest[2]:,} documents of {longest[1]})",
            flush=True,
        )


if __name__ == "__main__":
    main()
