"""The one MongoDB adapter: nothing else in the project imports pymongo.

A lazily created client from settings.MONGODB_URI with short timeouts, one exception type
for "MongoDB is unavailable", and the index declarations every app contributes (created by
`manage.py mongo_setup`, idempotently). MongoDB lives outside the SQL transaction: callers
write after commit and, when it is down, spool and replay (audit_logs.writer).

Keep queries to what both real MongoDB and nx-27017 (the embedded stand-in) handle:
$match, $group with a scalar or $dateToString _id, $sort, $project, $limit, $count; update_one
with $set/$inc/$max/$setOnInsert (upsert works); bulk_write of UpdateOne $set by _id; no
replace_one upsert, $lookup, $facet.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import gridfs
from django.conf import settings
from pymongo import ASCENDING, DESCENDING, IndexModel, MongoClient, UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

__all__ = [
    "ASCENDING",
    "DESCENDING",
    "BulkWriteError",
    "DuplicateKeyError",
    "IndexSpec",
    "MongoUnavailable",
    "NoFile",
    "UpdateOne",
    "bucket",
    "collection",
    "database",
    "ensure_indexes",
    "guard",
    "is_configured",
    "ping",
    "register_indexes",
    "reset",
]

NoFile = gridfs.errors.NoFile


class MongoUnavailable(Exception):
    """MongoDB is not configured, not reachable, or failed: callers degrade, never crash a request."""


@dataclass(frozen=True)
class IndexSpec:
    collection: str
    keys: tuple[tuple[str, int], ...]
    name: str
    options: dict[str, Any] = field(default_factory=dict)


_lock = threading.Lock()
_client: MongoClient | None = None
_client_uri: str | None = None
_indexes: dict[str, IndexSpec] = {}


def is_configured() -> bool:
    return bool(settings.MONGODB_URI)


def _get_client() -> MongoClient:
    global _client, _client_uri
    uri = settings.MONGODB_URI
    if not uri:
        raise MongoUnavailable("MONGODB_URI is not set")
    with _lock:
        if _client is None or _client_uri != uri:
            if _client is not None:
                _client.close()
            timeout = settings.MONGODB_TIMEOUT_MS
            _client = MongoClient(
                uri,
                serverSelectionTimeoutMS=timeout,
                connectTimeoutMS=timeout,
                socketTimeoutMS=settings.MONGODB_SOCKET_TIMEOUT_MS,
                retryWrites=False,  # nx-27017 is standalone; real deployments may enable it in the URI
                tz_aware=True,
                appname="zhupei",
            )
            _client_uri = uri
        return _client


def reset() -> None:
    """Drop the client (tests restart servers on other ports; forked workers need their own)."""
    global _client, _client_uri
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
        _client_uri = None


def database() -> Database:
    client = _get_client()
    return client.get_default_database(default=settings.MONGODB_DATABASE)


def collection(name: str) -> Collection:
    return database()[name]


def bucket(name: str = "media") -> gridfs.GridFSBucket:
    return gridfs.GridFSBucket(database(), bucket_name=name)


@contextmanager
def guard() -> Iterator[None]:
    """Turn every pymongo failure into MongoUnavailable, so callers handle one exception."""
    try:
        yield
    except (DuplicateKeyError, BulkWriteError):
        raise
    except PyMongoError as exc:
        raise MongoUnavailable(str(exc)) from exc


def ping() -> bool:
    try:
        with guard():
            database().command("ping")
        return True
    except MongoUnavailable:
        return False


def register_indexes(*specs: IndexSpec) -> None:
    """Apps declare their indexes at import time; `mongo_setup` creates them."""
    for spec in specs:
        _indexes[f"{spec.collection}.{spec.name}"] = spec


def ensure_indexes() -> list[str]:
    """Create every declared index; creating an existing one is a no-op, so this is idempotent."""
    created = []
    with guard():
        by_collection: dict[str, list[IndexModel]] = {}
        for spec in _indexes.values():
            by_collection.setdefault(spec.collection, []).append(
                IndexModel(list(spec.keys), name=spec.name, **spec.options)
            )
        for name, models in sorted(by_collection.items()):
            created += [f"{name}.{n}" for n in collection(name).create_indexes(models)]
    return created
