"""`manage.py seed_demo`: run every app's demo seeder in order; safe to run again (nothing changes)."""

import inspect
import time
import unicodedata
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction

from accounts.demo import DEMO_PASSWORD, PERSONAS
from accounts.models import User
from core.demo import seeders


class Command(BaseCommand):
    help = "Load the demo hospital (every app's seeder from core.demo, in order). Running it again changes nothing."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--password",
            default=DEMO_PASSWORD,
            help=f"password of every demo account (default {DEMO_PASSWORD}); existing demo accounts are reset to it",
        )

    def handle(self, *args, password: str, **options) -> None:
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

        existing = set(connection.introspection.table_names())
        tables = [m for m in apps.get_models() if m._meta.managed and m._meta.db_table in existing]
        started = time.perf_counter()
        for seeder in seeders():
            before = _counts(tables)
            t0 = time.perf_counter()
            with transaction.atomic():
                reported = _call(seeder.run, stdout=self.stdout, password=password)
            added = {m: n - before[m] for m, n in _counts(tables).items() if n != before[m]}
            summary = ", ".join(f"{n:+d} {m._meta.verbose_name_plural}" for m, n in added.items()) or "up to date"
            if isinstance(reported, str):  # a seeder writing outside the SQL tables says what it did
                summary = reported
            self.stdout.write(f"{seeder.name:<12} {summary} ({time.perf_counter() - t0:.1f} s)")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {time.perf_counter() - started:.1f} s."))
        self._logins(password)

    def _logins(self, password: str) -> None:
        users = {u.username: u for u in User.objects.filter(username__in=PERSONAS).prefetch_related("role_assignments")}
        rows = [("username", "role", "password")]
        for username in PERSONAS:
            if username in users:
                held = users[username].role_assignments.all()
                roles = "、".join(f"{a.get_role_display()}（{a.scope_object}）" for a in held)
                rows.append((username, roles, password))
        if len(rows) == 1:
            return
        widths = [max(_width(row[i]) for row in rows) for i in range(3)]
        self.stdout.write("")
        for n, row in enumerate(rows):
            self.stdout.write("  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())
            if n == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
        self.stdout.write("Every other demo account (r2023001, gsur.head, b0900.director, ...) has the same password.")


def _counts(tables: list[type[models.Model]]) -> dict[type[models.Model], int]:
    return {m: m._default_manager.count() for m in tables}


def _call(run: Callable[..., Any], **available: Any) -> Any:
    """Pass a seeder the keyword arguments it declares (all of them if it takes **kwargs)."""
    params = inspect.signature(run).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return run(**available)
    names = {p.name for p in params}
    return run(**{k: v for k, v in available.items() if k in names})


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
