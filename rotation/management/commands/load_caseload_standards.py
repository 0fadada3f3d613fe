"""`manage.py load_caseload_standards [--hospital CODE] [--replace]`: the shipped per-resident quotas."""

from django.core.management.base import BaseCommand, CommandError

from accounts.choices import SiteKind
from accounts.models import Hospital
from rotation.services.caseload_progress import load_caseload_standards


class Command(BaseCommand):
    help = (
        "Create the caseload standards (病种, 管床病例, 技能 minimums) of rotation_programs.yaml's example_quotas for "
        "the matching departments of every main hospital and its sites. Running it again changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--hospital", help="code of the training hospital (default: every main hospital)")
        parser.add_argument("--replace", action="store_true", help="reset existing standards to the shipped numbers")
        parser.add_argument("--file", help="another file of the same format")

    def handle(self, *args, hospital: str | None, replace: bool, file: str | None, **options) -> None:
        hospitals = Hospital.objects.filter(kind=SiteKind.MAIN).order_by("code")
        if hospital:
            hospitals = Hospital.objects.filter(code=hospital)
            if not hospitals.exists():
                raise CommandError(f"No hospital with code {hospital!r}.")
        for h in hospitals:
            report = load_caseload_standards(h, path=file, replace=replace)
            self.stdout.write(self.style.MIGRATE_HEADING(f"{h.code} {h.name}"))
            for line in report.lines():
                self.stdout.write(f"  {line}")
