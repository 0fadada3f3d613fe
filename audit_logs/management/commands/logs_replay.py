from django.core.management.base import BaseCommand, CommandError

from audit_logs import writer


class Command(BaseCommand):
    help = "Write the logs spooled while MongoDB was down (exactly once); safe to run again."

    def handle(self, *args, **options):
        report = writer.replay_spool()
        replayed = ", ".join(f"{name}: {n}" for name, n in report["replayed"].items()) or "nothing"
        self.stdout.write(f"Replayed {replayed}.")
        if report["busy"]:
            self.stdout.write("Another process is replaying right now.")
        if report["error"] or report["pending"]:
            raise CommandError(f"Still spooled: {report['pending']} ({report['error'] or 'try again'})")
