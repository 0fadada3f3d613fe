"""Run nx-27017 (a MongoDB wire-protocol server on SQLite, from PyPI) as a real local process.

Used by `./dev.sh up` (through `manage.py embedded_mongo`) and by the pytest session fixture:
real pymongo over real TCP, real GridFS, no mongod needed. Production uses real MongoDB.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _executable() -> list[str]:
    found = shutil.which("nx-27017", path=str(Path(sys.executable).parent)) or shutil.which("nx-27017")
    if found:
        return [found]
    return [sys.executable, "-m", "nx_27017"]


@dataclass
class EmbeddedMongo:
    db_path: Path
    port: int
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/zhupei"

    def start(self, timeout: float = 15.0) -> EmbeddedMongo:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_path or self.db_path.with_suffix(".log")
        pid_file = self.db_path.with_suffix(".pid")
        self.process = subprocess.Popen(
            [*_executable(), "--db", str(self.db_path), "--host", "127.0.0.1", "-p", str(self.port),
             "--log-file", str(self.log_path), "--pid-file", str(pid_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nx-27017 exited with {self.process.returncode}; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nx-27017 did not listen on port {self.port} within {timeout}s")

    def stop(self) -> None:
        """Kill the server (used by tests to simulate MongoDB going down)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
