"""`manage.py purge_history [--dry-run]`: the daily history purge (SPEC §10), run by hand.

Deletes schedule events older than EVENT_RETENTION_DAYS and finished jobs (with their attempts)
older than JOB_RETENTION_DAYS, in batches, until none is left; never an active job, nor an event
whose job is active. `--dry-run` counts what would go and deletes nothing."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from config.clock import iso_z
from schedules.services import history_purge


class Command(BaseCommand):
    help = "Delete old schedule events and finished jobs (EVENT_/JOB_RETENTION_DAYS), in batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be deleted; delete nothing"
        )

    def handle(self, *args, dry_run: bool = False, **options):
        result = history_purge(now=timezone.now(), dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {result.events} schedule event(s) created before "
            f"{iso_z(result.event_cutoff)} ({settings.EVENT_RETENTION_DAYS} days)."
        )
        self.stdout.write(
            f"{verb} {result.jobs} finished job(s), with their attempts, that ended before "
            f"{iso_z(result.job_cutoff)} ({settings.JOB_RETENTION_DAYS} days)."
        )
