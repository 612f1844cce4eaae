"""Re-encrypt every vault entry under the primary key of VAULT_ENCRYPTION_KEYS.

Rotation: put the new key first in VAULT_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, then drop the old keys. Entries that no configured key can decrypt are
reported as `vault_unreadable` by name and left as they are; the command does not crash on them.
"""

from django.core.management.base import BaseCommand, CommandError

from vault.errors import VaultNotConfigured
from vault.services import vault_rotate_all


class Command(BaseCommand):
    help = "Re-encrypt every vault entry with the primary key of VAULT_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument(
            "--fail-on-unreadable",
            action="store_true",
            help="Exit with status 1 when some entry cannot be decrypted (for scripts/CI).",
        )

    def handle(self, *args, **options):
        try:
            rotated, unreadable = vault_rotate_all()
        except VaultNotConfigured as exc:
            raise CommandError(str(exc)) from None
        for name in unreadable:
            self.stderr.write(f"vault_unreadable entry={name}")
        self.stdout.write(f"rotated={rotated} unreadable={len(unreadable)}")
        if unreadable and options["fail_on_unreadable"]:
            raise CommandError(f"{len(unreadable)} vault entries are unreadable", returncode=1)
