"""Request throughput with request/audit logging on vs off, on the same machine in one run.

    .venv/bin/python bench/logging_overhead.py [--seconds 10] [--rounds 3]

Starts nx-27017 (the embedded MongoDB) and two identical gunicorn servers (1 worker, 4
threads) that differ only in REQUEST_LOG_ENABLED, then drives GET /accounts/login/ on each
with wrk (Debian package `wrk`), alternating on/off rounds so both see the same machine
state. Prints requests/s and latency per round, the medians, the on/off ratio (target
>= 0.9) and how many request_log documents reached MongoDB (proof logging was on).
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.embedded_mongo import EmbeddedMongo, free_port  # noqa: E402

VENV_BIN = Path(sys.executable).parent
PATH = "/accounts/login/"


def wait_for(url: str, timeout: float = 30.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def wrk(url: str, seconds: int) -> tuple[float, str, str]:
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", url], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    return rps, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")

    tmp = Path(tempfile.mkdtemp(prefix="zhupei-bench-logging-"))
    mongo = EmbeddedMongo(db_path=tmp / "mongo.db", port=free_port()).start()
    env = {
        **os.environ,
        "ZHUPEI_VAR_DIR": str(tmp),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "MONGODB_URI": mongo.uri,
        "PYTHONUNBUFFERED": "1",
    }
    python = str(VENV_BIN / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "mongo_setup"], cwd=ROOT, env=env, check=True, capture_output=True)

    servers = {}
    try:
        for mode, enabled in (("on", "true"), ("off", "false")):
            port = free_port()
            server_env = {**env, "REQUEST_LOG_ENABLED": enabled}
            servers[mode] = (
                port,
                subprocess.Popen(
                    [str(VENV_BIN / "gunicorn"), "config.wsgi:application", "-b", f"127.0.0.1:{port}",
                     "-w", "1", "-k", "gthread", "--threads", "4", "--log-level", "warning"],
                    cwd=ROOT, env=server_env,
                ),
            )  # fmt: skip
            wait_for(f"http://127.0.0.1:{port}{PATH}")

        results: dict[str, list[float]] = {"on": [], "off": []}
        print(f"GET {PATH}, wrk -t2 -c8 for {args.seconds}s per round; gunicorn 1 worker x 4 threads")
        print(f"{'round':>5} {'logging':>8} {'req/s':>9} {'p50':>9} {'p99':>9}")
        for round_no in range(1, args.rounds + 1):
            for mode in ("on", "off") if round_no % 2 else ("off", "on"):
                port = servers[mode][0]
                rps, p50, p99 = wrk(f"http://127.0.0.1:{port}{PATH}", args.seconds)
                results[mode].append(rps)
                print(f"{round_no:>5} {mode:>8} {rps:>9.1f} {p50:>9} {p99:>9}")
        on, off = statistics.median(results["on"]), statistics.median(results["off"])
        print(f"median req/s: logging on {on:.1f}, off {off:.1f}; ratio on/off = {on / off:.3f} (target >= 0.9)")
        time.sleep(3)  # let the last batch flush
        count = subprocess.run(
            [python, "-c", "import django,os;django.setup();from core import mongo;"
             "print(mongo.collection('request_log').estimated_document_count())"],
            cwd=ROOT, env=env, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        print(f"request_log documents written by the 'on' server: {count}")
    finally:
        for _, process in servers.values():
            process.terminate()
            process.wait(timeout=10)
        mongo.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
