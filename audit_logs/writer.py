"""The per-process log writer: buffer in memory, write to MongoDB in batches, spool when it is down.

Request and exception logs and audit events never touch MongoDB on the request path. `put()` appends
to an in-memory buffer per collection (a lock and a list append); a daemon thread, started lazily on
first use and again in a forked child, flushes every LOG_FLUSH_SECONDS or as soon as a buffer holds
LOG_BATCH_SIZE documents. `flush()` does the same synchronously (tests, atexit, Celery tasks).

Exactly once. Every document carries its own id (request and exception logs a uuid4 `_id`, audit
events audit_record's `id`), so writing a batch twice is harmless: insert_many(ordered=False) with
duplicate-key errors (11000) counted as success, and the audit chain skips event ids it already holds
(audit_logs.chain.seal). That is what makes the spool safe to replay after any interruption. The
one field write() adds, the logs' minute_key, is derived from `at`: a replay writes the same document.

Spool. When MongoDB is unavailable (or not configured) a batch is appended to
LOG_SPOOL_DIR/<collection>.jsonl: one JSON object per line, datetimes as {"$date": "<ISO>"}, appended
under an fcntl lock (several gunicorn workers and Celery share the directory) and fsynced.
`replay_spool()` (the beat task audit_logs.tasks.replay_spool, and this thread every ~30 s while
something is spooled) claims each spool file by renaming it to a unique ".replaying" name under the
same lock, inserts it in batches, and deletes it only when everything is in. If MongoDB fails midway
the file stays and is replayed again later; the ids make the second pass harmless. While anything of a
collection is still spooled, newer batches of that collection join the spool after it, so audit
events are sealed into the chain in the order they happened. A document MongoDB refuses for its shape
(not an outage) goes to <collection>.rejected.jsonl and is logged, so one bad line cannot block a spool.

Nothing here raises into a request: every failure is logged and the documents go to the spool.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from core import mongo

from .chain import seal
from .collections import AUDIT_EVENTS, BUFFERED, LOGS_KEYED, stamp_minute_key
from .files import append_lines, decode_line, encode_line, file_lock, spool_dir

logger = logging.getLogger("zhupei.logs")

SPOOL_LOCK = ".spool.lock"
REPLAY_LOCK = ".replay.lock"
REPLAY_EVERY_SECONDS = 30.0


def spool_append(collection: str, docs: list[dict[str, Any]]) -> None:
    """Append documents to the collection's spool file (raises OSError if the disk refuses)."""
    if not docs:
        return
    directory = spool_dir()
    lines = [encode_line(doc) for doc in docs]
    with file_lock(directory / SPOOL_LOCK):
        append_lines(directory / f"{collection}.jsonl", lines)


def _reject(collection: str, doc: dict[str, Any]) -> None:
    logger.error("MongoDB refused a %s document; kept in %s.rejected.jsonl", collection, collection)
    try:
        directory = spool_dir()
        with file_lock(directory / SPOOL_LOCK):
            append_lines(directory / f"{collection}.rejected.jsonl", [encode_line(doc)])
    except Exception:
        logger.exception("could not keep a rejected %s document", collection)


def _spool_files(directory: Path, collection: str) -> list[Path]:
    """Claimed (".replaying") files of a collection, oldest first, then its open spool file."""
    claimed = []
    for entry in os.scandir(directory):
        name = entry.name
        if name.startswith(f"{collection}.") and name.endswith(".replaying"):
            parts = name.split(".")
            claimed.append((int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0, name))
    files = [directory / name for _, name in sorted(claimed)]
    if (directory / f"{collection}.jsonl").exists():
        files.append(directory / f"{collection}.jsonl")
    return files


def pending(collections: Iterable[str] = BUFFERED) -> dict[str, int]:
    """Collection -> number of spool files waiting (empty when nothing is spooled)."""
    try:
        directory = Path(settings.LOG_SPOOL_DIR)
        if not directory.is_dir():
            return {}
        found = {name: len(_spool_files(directory, name)) for name in collections}
    except OSError:
        return {}
    return {name: n for name, n in found.items() if n}


def spooled_documents(collection: str) -> list[dict[str, Any]]:
    """Everything spooled for a collection, in order (operators and tests)."""
    docs = []
    for path in _spool_files(spool_dir(), collection):
        with open(path, encoding="utf-8") as fh:
            docs += [decode_line(line) for line in fh if line.strip()]
    return docs


# --------------------------------------------------------------------------------------------
# Writing to MongoDB, idempotently
# --------------------------------------------------------------------------------------------
def _insert(collection: str, docs: list[dict[str, Any]]) -> None:
    if not docs:
        return
    if collection == AUDIT_EVENTS:
        seal(docs)
        return
    with mongo.guard():
        try:
            mongo.collection(collection).insert_many(docs, ordered=False)
        except mongo.BulkWriteError as exc:
            details = exc.details or {}
            refused = [e for e in details.get("writeErrors", []) if e.get("code") != 11000]
            if refused or details.get("writeConcernErrors"):
                raise


def write(collection: str, docs: list[dict[str, Any]]) -> None:
    """Insert documents that may already be there; raises MongoUnavailable on an outage only.

    A batch failing for any other reason is retried one document at a time, and a document MongoDB
    still refuses is set aside (rejected file) instead of blocking everything behind it. Request and
    exception logs get their minute_key here (derived from `at`, so a replay stores the same document).
    """
    if collection in LOGS_KEYED:
        stamp_minute_key(docs)
    try:
        _insert(collection, docs)
        return
    except mongo.MongoUnavailable:
        raise
    except Exception:
        if len(docs) == 1:
            _reject(collection, docs[0])
            return
        logger.warning("a %s batch was refused; retrying document by document", collection, exc_info=True)
    for doc in docs:
        try:
            _insert(collection, [doc])
        except mongo.MongoUnavailable:
            raise
        except Exception:
            _reject(collection, doc)


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _batch_size() -> int:
    return max(1, int(settings.LOG_BATCH_SIZE))


# --------------------------------------------------------------------------------------------
# Replay
# --------------------------------------------------------------------------------------------
def _replay_file(collection: str, path: Path) -> int:
    """Insert every line of a claimed spool file; raises MongoUnavailable and keeps the file."""
    count = 0
    batch: list[dict[str, Any]] = []
    size = _batch_size()
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                batch.append(decode_line(line))
            except ValueError:
                # A torn line (the process died mid-append): keep it for a human, skip it here.
                logger.error("unreadable line %s in %s; kept in %s.rejected.jsonl", number, path.name, collection)
                with file_lock(path.parent / SPOOL_LOCK):
                    append_lines(path.parent / f"{collection}.rejected.jsonl", [line.rstrip("\n") + "\n"])
                continue
            if len(batch) >= size:
                write(collection, batch)
                count += len(batch)
                batch = []
    if batch:
        write(collection, batch)
        count += len(batch)
    return count


def replay_spool(collections: Iterable[str] = BUFFERED, *, wait: float = 30.0) -> dict[str, Any]:
    """Write everything spooled to MongoDB, exactly once; safe to run anywhere, any time, repeatedly.

    One replayer at a time: if another one is at work, wait up to `wait` seconds for it, then give up.
    Returns {"replayed": {collection: n}, "pending": {collection: files left}, "error": str | None,
    "busy": bool (another replayer kept the lock)}.
    """
    names = [name for name in BUFFERED if name in set(collections)]
    report: dict[str, Any] = {"replayed": {}, "pending": {}, "error": None, "busy": False}
    if not pending(names):
        return report
    if not mongo.ping():
        report["error"] = "MongoDB is unavailable"
        report["pending"] = pending(names)
        return report
    directory = spool_dir()
    with file_lock(directory / REPLAY_LOCK, timeout=wait) as acquired:
        if not acquired:
            report["busy"] = True
            report["pending"] = pending(names)
            return report
        for _round in range(3):  # batches spooled while we replay are picked up by the next round
            with file_lock(directory / SPOOL_LOCK):
                for name in names:
                    fresh = directory / f"{name}.jsonl"
                    if fresh.exists():
                        fresh.rename(directory / f"{name}.{time.time_ns()}.{os.getpid()}.replaying")
            claimed = [(name, path) for name in names for path in _spool_files(directory, name)]
            claimed = [(name, path) for name, path in claimed if path.name.endswith(".replaying")]
            if not claimed:
                break
            for name, path in claimed:
                try:
                    replayed = _replay_file(name, path)
                except mongo.MongoUnavailable as exc:
                    report["error"] = str(exc)
                    report["pending"] = pending(names)
                    logger.warning("replaying %s stopped: MongoDB is unavailable (%s)", path.name, exc)
                    return report
                path.unlink()
                report["replayed"][name] = report["replayed"].get(name, 0) + replayed
    report["pending"] = pending(names)
    if report["replayed"]:
        logger.info("replayed spooled logs: %s", report["replayed"])
    return report


# --------------------------------------------------------------------------------------------
# The writer
# --------------------------------------------------------------------------------------------
class LogWriter:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        """Fresh state for this process (also in a forked child: the parent writes what it buffered)."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in BUFFERED}
        self._thread: threading.Thread | None = None
        self._last_replay = 0.0
        self._outage = False  # to log an outage once, not on every flush

    def put(self, collection: str, doc: dict[str, Any]) -> None:
        """Buffer one document; never raises, never waits for MongoDB."""
        try:
            self._ensure_started()
            size = _batch_size()
            overflow = None
            with self._lock:
                buffer = self._buffers[collection]
                buffer.append(doc)
                buffered = len(buffer)
                if buffered >= max(size * 20, 1000):
                    # The flush thread is stuck (MongoDB hangs): keep memory bounded, go to disk now.
                    overflow, self._buffers[collection] = buffer, []
            if overflow:
                self._spool(collection, overflow)
            elif buffered >= size:
                self._wake.set()
        except Exception:
            logger.exception("could not buffer a %s document", collection)

    def flush(self, timeout: float | None = None) -> dict[str, dict[str, int]]:
        """Write everything buffered now (or spool it); waits for a flush already under way.

        Returns {"written": {collection: n}, "spooled": {collection: n}}.
        """
        if self._pid != os.getpid():
            self._reset()
        if not self._flush_lock.acquire(timeout=-1 if timeout is None else timeout):
            return {"written": {}, "spooled": {}}
        try:
            return self._flush_locked()
        finally:
            self._flush_lock.release()

    def _flush_locked(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {"written": {}, "spooled": {}}
        down = not mongo.is_configured()
        for name in BUFFERED:  # audit events first
            with self._lock:
                docs, self._buffers[name] = self._buffers[name], []
            if not docs:
                continue
            done = 0
            if not down:
                try:
                    if pending([name]):
                        # Older entries of this collection are spooled: they go first, to keep the order.
                        report = replay_spool([name], wait=10.0)
                        if report["error"]:
                            raise mongo.MongoUnavailable(report["error"])
                        if report["pending"]:
                            raise _StillSpooled
                    for batch in _batches(docs, _batch_size()):
                        write(name, batch)
                        done += len(batch)
                except _StillSpooled:
                    pass
                except mongo.MongoUnavailable as exc:
                    down = True
                    if not self._outage:
                        logger.warning("MongoDB is unavailable, spooling logs to %s: %s", settings.LOG_SPOOL_DIR, exc)
                    self._outage = True
                except Exception:
                    logger.exception("writing %s failed; spooling", name)
            if done:
                result["written"][name] = done
                if self._outage:
                    logger.warning("MongoDB answers again; spooled logs are being replayed")
                    self._outage = False
            if done < len(docs):
                self._spool(name, docs[done:])
                result["spooled"][name] = len(docs) - done
        return result

    def _spool(self, collection: str, docs: list[dict[str, Any]]) -> None:
        try:
            spool_append(collection, docs)
        except Exception:
            logger.exception("could not spool %s %s documents", len(docs), collection)
            if collection == AUDIT_EVENTS:
                # Last resort: the audit events at least reach the JSON-lines audit log.
                from core.audit import log_sink

                for event in docs:
                    log_sink(event)

    def _ensure_started(self) -> None:
        if self._pid != os.getpid():
            self._reset()
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="zhupei-log-writer", daemon=True)
                self._thread.start()
                _register_atexit()

    def _run(self) -> None:
        while True:
            try:
                self._wake.wait(timeout=float(settings.LOG_FLUSH_SECONDS))
                self._wake.clear()
                self.flush()
                now = time.monotonic()
                if now - self._last_replay >= REPLAY_EVERY_SECONDS and pending():
                    self._last_replay = now
                    replay_spool(wait=0)  # someone else replaying is just as good
            except Exception:  # the thread must outlive anything: settings swapped, disk full...
                logger.exception("the log writer's flush failed")
                time.sleep(1.0)


class _StillSpooled(Exception):
    """Another process is replaying this collection's spool: newer documents join the spool."""


_writer = LogWriter()
_atexit_registered = False


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_flush_at_exit)
        _atexit_registered = True


def _flush_at_exit() -> None:
    try:
        _writer.flush(timeout=10.0)
    except Exception:
        logger.exception("the final flush of the log writer failed")


def put(collection: str, doc: dict[str, Any]) -> None:
    _writer.put(collection, doc)


def flush(timeout: float | None = None) -> dict[str, dict[str, int]]:
    return _writer.flush(timeout=timeout)
