from django.core.management.base import BaseCommand, CommandError

from core import mongo


class Command(BaseCommand):
    help = "Create the MongoDB indexes every app declares. Safe to run again and again."

    def handle(self, *args, **options):
        if not mongo.is_configured():
            self.stdout.write("MONGODB_URI is not set: nothing to do.")
            return
        try:
            created = mongo.ensure_indexes()
        except mongo.MongoUnavailable as exc:
            raise CommandError(f"MongoDB is unavailable: {exc}") from exc
        self.stdout.write(f"{len(created)} indexes in place.")
