"""Seed the demo: an organization, an admin login, a local agent, a script, an every-minute
schedule. Idempotent: running it again finds the same objects and prints the same login.

Where the `local` controller is not allowed (AGENT_LOCAL_CONTROLLER off, the default without
DEBUG), the demo agent is `manual` instead, and the output says how to start it."""

import json
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from agents.controller_policy import local_controller_allowed
from agents.models import Agent, Controller, Script
from billing.models import BillingStatus, Membership, Organization, Role
from schedules import services
from schedules.models import Schedule

DEMO_SCRIPT = '''\
"""Demo bot: reads its inputs from stdin and reports what it would do."""
import json
import sys

payload = json.load(sys.stdin)
job = payload["job"]
print(f"Hello from job {job['id']} (attempt {job['attempt']})")
print("variables:", json.dumps(payload["variables"], sort_keys=True))
print("secrets provided:", sorted(payload["secrets"]))
'''


class Command(BaseCommand):
    help = "Create (or find) the demo organization, admin user, agent, script and schedule."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON line.")
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--base-url",
            default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}",
            help="Where the web server listens (for the printed hints).",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        now = timezone.now()
        org, _ = Organization.objects.get_or_create(
            slug="demo",
            defaults={"name": "Demo Operations", "billing_status": BillingStatus.ACTIVE},
        )
        password = getattr(settings, "DEMO_ADMIN_PASSWORD", "") or secrets.token_urlsafe(12)
        User = get_user_model()
        user, _ = User.objects.get_or_create(
            username=options["username"], defaults={"email": "admin@example.com"}
        )
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        Membership.objects.get_or_create(user=user, organization=org, defaults={"role": Role.OWNER})
        token, _ = Token.objects.get_or_create(user=user)

        local = local_controller_allowed()
        agent, _ = Agent.objects.get_or_create(
            organization=org,
            slug="demo-agent",
            defaults={
                "name": "Demo agent",
                "controller": Controller.LOCAL if local else Controller.MANUAL,
                "auto_start": local,
            },
        )
        script, _ = Script.objects.get_or_create(
            organization=org, name="Demo: hello bot", defaults={"source": DEMO_SCRIPT}
        )
        schedule = Schedule.objects.filter(organization=org, name="Demo: every minute").first()
        if schedule is None:
            schedule = services.schedule_create(
                now=now,
                organization=org,
                name="Demo: every minute",
                script=script,
                agent=agent,
                cron_expression="* * * * *",
                timezone="UTC",
                variables={"region": "demo", "greeting": "hello"},
                max_runtime_minutes=5,
            )

        result = {
            "username": user.username,
            "password": password,
            "token": token.key,
            "organization": org.slug,
            "agentId": str(agent.id),
            "scriptId": str(script.id),
            "scheduleId": str(schedule.id),
        }
        base = options["base_url"].rstrip("/")
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"Demo ready.\n  Admin login: {user.username} / {password}  ({base}/app/)\n"
                f"  API token:   {token.key}\n"
                f"  Try: curl -H 'Authorization: Token {token.key}' "
                f"'{base}/api/schedules/preview?cron=30+2+*+*+*&timezone=America/New_York'\n"
            )
            if agent.controller == Controller.LOCAL and not local:
                self.stdout.write(
                    "  The demo agent uses the local controller, which AGENT_LOCAL_CONTROLLER does "
                    "not allow here: it will not be started for its runs.\n"
                )
            elif agent.controller == Controller.MANUAL:
                self.stdout.write(
                    "  The demo agent is manual (the local controller needs "
                    "AGENT_LOCAL_CONTROLLER=true): start its runtime yourself with the variables "
                    f"from POST {base}/api/agents/{agent.id}/token.\n"
                )
