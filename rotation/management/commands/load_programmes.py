"""`manage.py load_programmes [--hospital CODE] [--replace]`: the shipped default rotation programmes."""

from django.core.management.base import BaseCommand, CommandError

from accounts.choices import SiteKind
from accounts.models import Hospital
from rotation.services.programmes import load_programmes


class Command(BaseCommand):
    help = (
        "Create the default rotation programmes (accounts/data/rotation_programs.yaml) for every specialty base "
        "that has none, with the departments they need. Running it again changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--hospital", help="code of the training hospital (default: every main hospital)")
        parser.add_argument("--replace", action="store_true", help="replace existing programmes with the defaults")
        parser.add_argument("--file", help="another programme file of the same format")

    def handle(self, *args, hospital: str | None, replace: bool, file: str | None, **options) -> None:
        hospitals = Hospital.objects.filter(kind=SiteKind.MAIN).order_by("code")
        if hospital:
            hospitals = Hospital.objects.filter(code=hospital)
            if not hospitals.exists():
                raise CommandError(f"No hospital with code {hospital!r}.")
        for h in hospitals:
            report = load_programmes(h, replace=replace, path=file)
            self.stdout.write(self.style.MIGRATE_HEADING(f"{h.code} {h.name}"))
            for line in report.lines():
                self.stdout.write(f"  {line}")
