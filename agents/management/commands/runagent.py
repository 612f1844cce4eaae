"""`manage.py runagent <agent-id-or-slug>`: a development wrapper that becomes that agent's
runtime (SPEC §7) on this host.

It issues the agent a fresh token (the previous one stops working), marks the agent `starting`
(so the tick does not auto-start a second runtime meanwhile), then replaces itself with
`python -m agents.runtime` holding only the agent's MIMIC_* variables: the Django process and
its environment — DATABASE_URL, SECRET_KEY, the vault keys — are gone before any job runs.
On another machine, start the runtime directly (README: run an agent on another machine).
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from agents import selectors, services
from agents.controllers import runtime_environment
from agents.models import AgentStatus
from agents.runtime.environment import host_passthrough


class Command(BaseCommand):
    help = "Become an agent's runtime on this host (development): fresh token, clean environment."

    def add_arguments(self, parser):
        parser.add_argument("agent", help="The agent's id, or its slug when that is unambiguous.")

    def handle(self, *args, agent: str, **options):
        try:
            row = selectors.agent_get_by_ref(agent)
        except selectors.AgentRefError as exc:
            raise CommandError(str(exc)) from None
        if row.status == AgentStatus.DISABLED:
            raise CommandError(f"Agent {row.slug} is disabled; enable it first.")
        now = timezone.now()
        # grace 0: this start wins over any earlier one; a later tick sees `starting` and waits.
        services.agent_mark_starting(agent_id=row.id, now=now, grace=timedelta(0))
        token = services.agent_token_issue(agent_id=row.id)
        env = {**host_passthrough(os.environ), **runtime_environment(row, token)}
        self.stdout.write(f"runagent: agent {row.slug} ({row.id}) -> python -m agents.runtime")
        self.stdout.flush()
        os.chdir(settings.BASE_DIR)
        os.execve(sys.executable, [sys.executable, "-m", "agents.runtime"], env)
