import sys

from django.core.management.base import BaseCommand, CommandError

from audit_logs.chain import verify_chain
from core import mongo


class Command(BaseCommand):
    help = "Recompute the audit hash chain and check the signed anchors; exit 1 at the first broken or missing event."

    def handle(self, *args, **options):
        try:
            result = verify_chain(trigger="command")
        except mongo.MongoUnavailable as exc:
            raise CommandError(f"MongoDB is unavailable: {exc}") from exc
        self.stdout.write(result.message())
        if not result.ok:
            sys.exit(1)
