from django.core.management.base import BaseCommand, CommandError

from audit_logs.chain import write_daily_anchor
from core import mongo


class Command(BaseCommand):
    help = "Sign the audit chain's state at the end of a day (default: yesterday); safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--day", help="YYYY-MM-DD, China Standard Time")

    def handle(self, *args, day=None, **options):
        try:
            anchor = write_daily_anchor(day)
        except mongo.MongoUnavailable as exc:
            raise CommandError(f"MongoDB is unavailable: {exc}") from exc
        if anchor is None:
            raise CommandError("Nothing anchored: no events yet, or the chain is broken (run audit_verify).")
        self.stdout.write(f"Anchor {anchor['_id']}: seq {anchor['last_seq']}, hash {anchor['last_hash']}")
