from django.core.management.base import BaseCommand, CommandError

from audit_logs.retention import prune
from core import mongo


class Command(BaseCommand):
    help = "Delete logs past their retention (audit events only as an anchored prefix); the run is audited."

    def handle(self, *args, **options):
        try:
            counts = prune()
        except mongo.MongoUnavailable as exc:
            raise CommandError(f"MongoDB is unavailable: {exc}") from exc
        for name, deleted in counts.items():
            self.stdout.write(f"{name}: {deleted} deleted")
