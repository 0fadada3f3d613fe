"""What the rotation data loaders share: run a loader for one hospital (by code) or every main hospital."""

from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError

from accounts.choices import SiteKind
from accounts.models import Hospital


class HospitalLoaderCommand(BaseCommand):
    #: loader(hospital, *, path, replace) -> a report with .lines()
    loader: Callable
    replace_help = "replace what exists with the shipped defaults"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--hospital", help="code of the training hospital (default: every main hospital)")
        parser.add_argument("--replace", action="store_true", help=self.replace_help)
        parser.add_argument("--file", help="another file of the same format")

    def handle(self, *args, hospital: str | None, replace: bool, file: str | None, **options) -> None:
        hospitals = Hospital.objects.filter(kind=SiteKind.MAIN).order_by("code")
        if hospital:
            hospitals = Hospital.objects.filter(code=hospital)
            if not hospitals.exists():
                raise CommandError(f"No hospital with code {hospital!r}.")
        for h in hospitals:
            report = type(self).loader(h, path=file, replace=replace)
            self.stdout.write(self.style.MIGRATE_HEADING(f"{h.code} {h.name}"))
            for line in report.lines():
                self.stdout.write(f"  {line}")
