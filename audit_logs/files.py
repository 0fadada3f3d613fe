"""Files of the logging pipeline: the spool directory, fcntl locks, JSON lines that keep datetimes."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings


def spool_dir() -> Path:
    path = Path(settings.LOG_SPOOL_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def file_lock(path: Path, *, timeout: float | None = None) -> Iterator[bool]:
    """An exclusive fcntl lock on `path` (created if needed): waits forever, or up to `timeout` seconds
    and then yields False.

    Each use opens its own file description, so the lock also separates threads of one process.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$date": value.isoformat()}
    return str(value)


def _json_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$date" in obj:
        return datetime.fromisoformat(obj["$date"])
    return obj


def encode_line(doc: dict[str, Any]) -> str:
    return json.dumps(doc, default=_json_default, ensure_ascii=False, separators=(",", ":")) + "\n"


def decode_line(line: str) -> dict[str, Any]:
    return json.loads(line, object_hook=_json_hook)


def append_lines(path: Path, lines: Iterable[str]) -> None:
    """Append whole lines and fsync; call it under the spool lock."""
    data = "".join(lines).encode("utf-8")
    if not data:
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # a torn last line (a crash mid-append) must not swallow the next one
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
