"""Placeholder until the durable sink lands: keeps the JSON-lines behaviour."""

from core.audit import log_sink


def durable_sink(event: dict) -> None:
    log_sink(event)
