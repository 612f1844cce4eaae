"""Alerts reach real receivers (SPEC §14 acceptance): a failed run sends one e-mail to a real
SMTP server (aiosmtpd on loopback) and one webhook, signed with HMAC-SHA256, to a real HTTP
server whose signature is checked here; a second failure of the same kind within the dedup
window sends nothing; a receiver that is down gets retries with backoff and ends recorded
`failed`.

How the Celery task runs here: `send_alerts` (the task) is called directly, in this process —
the real sending code, no eager mode, no worker. The after-commit hand-off to the broker is
recorded (`alert_sends_enqueued`) and checked to name the rows written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.db import transaction

from agents.models import ErrorKind, JobAttempt, JobStatus
from agents.outcomes import Outcome
from agents.services import job_finish_attempt
from config import clock
from schedules import alerts
from schedules.alert_models import AlertChannel, AlertDelivery, ChannelKind, DeliveryStatus
from schedules.tasks import send_alerts
from tests.factories import JobFactory, ScheduleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("alert_sends_enqueued")]

SIGNING_KEY = "whsec-alerts-0123456789"
VARIABLE_VALUE = "hunter2-variable-value"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailSink:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield sink
    controller.stop()


@pytest.fixture
def alert_receiver(settings):
    """A local HTTP server recording every POST (headers, body), answering 204."""
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True
    received: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(
                (dict(self.headers), self.rfile.read(int(self.headers["Content-Length"])))
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/mimic"
    server.received = received
    yield server
    server.shutdown()
    server.server_close()


def run_fails(schedule, django_capture_on_commit_callbacks):
    """A run of `schedule` ends failed through the agents' service (as the runner's report
    does); the outbox rows are written in its transaction (agents.signals.jobs_settled)."""
    job = JobFactory(
        schedule=schedule,
        status=JobStatus.RUNNING,
        attempt=1,
        max_attempts=1,
        variables={"p": VARIABLE_VALUE},
    )
    JobAttempt.objects.create(job=job, number=1, status=JobStatus.RUNNING)
    outcome = Outcome(status=JobStatus.FAILED, error_kind=ErrorKind.EXIT_CODE, exit_code=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_finish_attempt(
            job=job, attempt=1, now=clock.control_plane_now(), outcome=outcome, log_text="boom"
        )
    return job


def send_pending() -> dict:
    ids = [
        str(i) for i in AlertDelivery.objects.filter(status="pending").values_list("id", flat=True)
    ]
    return send_alerts(ids)


def verify(headers: dict, body: bytes) -> bool:
    expected = "sha256=" + hmac.new(SIGNING_KEY.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-Mimic-Signature"], expected)


def test_a_failed_run_sends_one_email_and_one_signed_webhook_and_a_second_sends_nothing(
    alert_sends_enqueued, org, smtp_server, alert_receiver, django_capture_on_commit_callbacks
):
    schedule = ScheduleFactory(organization=org, name="Invoices")
    AlertChannel.objects.create(
        organization=org,
        name="ops mail",
        kind=ChannelKind.EMAIL,
        target="ops@example.com, oncall@example.com",
        events=["job_failed"],
    )
    AlertChannel.objects.create(
        organization=org,
        name="ops hook",
        kind=ChannelKind.WEBHOOK,
        target=alert_receiver.url,
        secret=SIGNING_KEY,
        events=["job_failed"],
    )

    job = run_fails(schedule, django_capture_on_commit_callbacks)
    written = {str(i) for i in AlertDelivery.objects.values_list("id", flat=True)}
    assert len(written) == 2
    assert {i for ids in alert_sends_enqueued for i in ids} == written
    assert send_pending() == {"sent": 2, "retried": 0}

    [(recipients, mail)] = smtp_server.messages
    assert sorted(recipients) == ["oncall@example.com", "ops@example.com"]
    assert "Invoices" in mail["Subject"] and "failed" in mail["Subject"]
    [(headers, body)] = alert_receiver.received
    assert verify(headers, body)
    payload = json.loads(body)
    assert (payload["event"], payload["jobId"], payload["scheduleId"]) == (
        "job_failed",
        str(job.id),
        str(schedule.id),
    )
    assert headers["X-Mimic-Event"] == "job_failed"
    # Secrets never travel: not the signing key, not a variable's value.
    for text in (body.decode(), mail.as_string()):
        assert SIGNING_KEY not in text and VARIABLE_VALUE not in text
    assert set(AlertDelivery.objects.values_list("status", "attempts")) == {("sent", 1)}

    # The same failure again within the window: nothing written, nothing sent.
    run_fails(schedule, django_capture_on_commit_callbacks)
    assert AlertDelivery.objects.count() == 2
    assert send_pending() == {"sent": 0, "retried": 0}
    assert len(smtp_server.messages) == 1 and len(alert_receiver.received) == 1


def test_after_the_dedup_window_the_same_failure_alerts_again(
    org,
    settings,
    alert_receiver,
    django_capture_on_commit_callbacks,
    control_plane_clock_is_time_machines,
):
    schedule = ScheduleFactory(organization=org)
    AlertChannel.objects.create(
        organization=org,
        name="hook",
        kind=ChannelKind.WEBHOOK,
        target=alert_receiver.url,
        secret=SIGNING_KEY,
        events=["job_failed"],
    )
    start = clock.control_plane_now()
    with time_machine.travel(start, tick=False):
        run_fails(schedule, django_capture_on_commit_callbacks)
    later = start + timedelta(minutes=settings.ALERT_DEDUP_MINUTES, seconds=1)
    with time_machine.travel(later, tick=False):
        run_fails(schedule, django_capture_on_commit_callbacks)
    assert AlertDelivery.objects.count() == 2


def test_a_receiver_that_is_down_gets_retries_with_backoff_then_a_recorded_failure(
    org, settings, django_capture_on_commit_callbacks, alert_sends_enqueued
):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True
    settings.ALERT_MAX_ATTEMPTS = 3
    settings.ALERT_RETRY_BASE_SECONDS = 60
    schedule = ScheduleFactory(organization=org)
    channel = AlertChannel.objects.create(
        organization=org,
        name="down",
        kind=ChannelKind.WEBHOOK,
        target=f"http://127.0.0.1:{free_port()}/hook",
        secret=SIGNING_KEY,
        events=["job_failed"],
    )
    run_fails(schedule, django_capture_on_commit_callbacks)
    delivery = AlertDelivery.objects.get(channel=channel)
    now = clock.control_plane_now()

    # The task: one failed attempt, then it sends itself again for the retry.
    alert_sends_enqueued.clear()
    assert send_alerts([str(delivery.id)]) == {"sent": 0, "retried": 1}
    assert alert_sends_enqueued == [[str(delivery.id)]]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    AlertDelivery.objects.filter(id=delivery.id).update(attempts=0, next_attempt_at=now)

    assert alerts.delivery_send(delivery_id=delivery.id, now=now) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (1, now + timedelta(seconds=60))
    assert delivery.last_error == "The webhook could not be reached."
    # Not due before its backoff: nothing is tried.
    assert alerts.delivery_send(delivery_id=delivery.id, now=now + timedelta(seconds=59)) is None
    assert alerts.deliveries_due(now=now + timedelta(seconds=59)) == []
    assert alerts.deliveries_due(now=now + timedelta(seconds=60)) == [delivery.id]

    second = now + timedelta(seconds=60)
    assert alerts.delivery_send(delivery_id=delivery.id, now=second) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (2, second + timedelta(seconds=120))
    third = second + timedelta(seconds=120)
    assert alerts.delivery_send(delivery_id=delivery.id, now=third) == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error == "The webhook could not be reached."
    assert alerts.deliveries_due(now=third + timedelta(days=1)) == []


def test_two_senders_never_send_the_same_delivery(org, alert_receiver):
    channel = AlertChannel.objects.create(
        organization=org,
        name="hook",
        kind=ChannelKind.WEBHOOK,
        target=alert_receiver.url,
        secret=SIGNING_KEY,
        events=["job_failed"],
    )
    now = clock.control_plane_now()
    delivery = alerts.alert_send_test(channel=channel, now=now)
    # The sweep's claim is held: the after-commit task finds nothing to do, and vice versa.
    assert alerts._claim(delivery.id, now=now) is not None
    assert alerts.delivery_send(delivery_id=delivery.id, now=now) is None
    assert alert_receiver.received == []


def test_a_slack_channel_gets_a_text_message(org, alert_receiver):
    channel = AlertChannel.objects.create(
        organization=org,
        name="slack",
        kind=ChannelKind.SLACK,
        target=alert_receiver.url,
        events=["job_failed"],
    )
    delivery = alerts.alert_send_test(channel=channel, now=clock.control_plane_now())
    assert send_alerts([str(delivery.id)]) == {"sent": 1, "retried": 0}
    [(headers, body)] = alert_receiver.received
    assert set(json.loads(body)) == {"text"}
    assert "Test alert" in json.loads(body)["text"]
    assert "X-Mimic-Signature" not in headers


def test_two_failures_across_a_window_boundary_minutes_apart_alert_once(
    org, settings, django_capture_on_commit_callbacks, control_plane_clock_is_time_machines
):
    """The unique key is per dedup window; the read of the last ALERT_DEDUP_MINUTES covers two
    failures on either side of a window's edge."""
    schedule = ScheduleFactory(organization=org)
    AlertChannel.objects.create(
        organization=org,
        name="mail",
        kind=ChannelKind.EMAIL,
        target="ops@example.com",
        events=["job_failed"],
    )
    window = settings.ALERT_DEDUP_MINUTES * 60
    edge = (int(clock.control_plane_now().timestamp()) // window + 1) * window
    for offset in (-60, 60):
        with time_machine.travel(datetime.fromtimestamp(edge + offset, tz=UTC), tick=False):
            run_fails(schedule, django_capture_on_commit_callbacks)
    assert AlertDelivery.objects.count() == 1


def test_the_outbox_row_is_written_in_the_transaction_that_ends_the_run(org):
    # SPEC §14: the alert exists exactly when the outcome does — written inside the job's own
    # transaction, and rolled back with it.
    schedule = ScheduleFactory(organization=org, name="Invoices")
    AlertChannel.objects.create(
        organization=org,
        name="ops mail",
        kind=ChannelKind.EMAIL,
        target="ops@example.com",
        events=["job_failed"],
    )
    job = JobFactory(schedule=schedule, status=JobStatus.RUNNING, attempt=1, max_attempts=1)
    JobAttempt.objects.create(job=job, number=1, status=JobStatus.RUNNING)
    outcome = Outcome(status=JobStatus.FAILED, error_kind=ErrorKind.EXIT_CODE, exit_code=1)

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), transaction.atomic():
        assert job_finish_attempt(
            job=job, attempt=1, now=clock.control_plane_now(), outcome=outcome, log_text="boom"
        )
        [row] = AlertDelivery.objects.all()  # before any commit: in the same transaction
        assert (row.event, row.status) == ("job_failed", "pending")
        raise RolledBack
    assert not AlertDelivery.objects.exists()
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
