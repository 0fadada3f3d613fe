"""The durable audit sink: audit_record's events join the hash-chained trail in MongoDB.

The event goes into the log writer's audit buffer (no MongoDB on the request path); the writer seals
it into the chain within LOG_FLUSH_SECONDS, or spools it while MongoDB is down (audit_logs.writer).
"""

from typing import Any

from . import writer
from .collections import AUDIT_EVENTS


def durable_sink(event: dict[str, Any]) -> None:
    writer.put(AUDIT_EVENTS, dict(event))
