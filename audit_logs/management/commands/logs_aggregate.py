from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit_logs.aggregation import aggregate, aggregate_recent, local_tz
from core import mongo


class Command(BaseCommand):
    help = "Recompute request and exception statistics (default: what the beat job does). Safe to re-run."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="YYYY-MM-DD (China Standard Time); recompute from this day")
        parser.add_argument("--until", help="YYYY-MM-DD, exclusive (default: now)")

    def handle(self, *args, since=None, until=None, **options):
        try:
            if since:
                start = datetime.fromisoformat(since).replace(tzinfo=local_tz())
                end = datetime.fromisoformat(until).replace(tzinfo=local_tz()) if until else timezone.now()
                written = aggregate(start, end if end > start else start + timedelta(days=1))
            else:
                written = aggregate_recent()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        except mongo.MongoUnavailable as exc:
            raise CommandError(f"MongoDB is unavailable: {exc}") from exc
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in written.items()))
