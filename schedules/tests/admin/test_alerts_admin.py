"""Alerts in the staff UI (SPEC §14): channels with their events and schedules, the secret and
a Slack URL never rendered (an empty field keeps them), errors on the field, the "send test"
action recording a delivery, and deliveries read-only and organization-scoped."""

from __future__ import annotations

import pytest

from billing.models import Role
from schedules.alert_models import AlertChannel, AlertDelivery, ChannelKind
from tests.factories import ScheduleFactory
from tests.fixtures import form_errors

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_alert_webhooks")]

ADD = "/app/schedules/alertchannel/add/"
SECRET = "whsec-admin-never-shown"


def form(**kw):
    return {
        "name": "ops hook",
        "kind": "webhook",
        "target": "http://127.0.0.1:8099/hook",
        "secret": SECRET,
        "events": ["job_failed", "tick_stale"],
        **kw,
    }


def test_it_adds_a_channel_and_never_shows_its_secret(org, staff_client):
    client = staff_client(org, Role.ADMIN)
    schedule = ScheduleFactory(organization=org, name="Invoices")
    response = client.post(ADD, form(schedules=[str(schedule.pk)]))
    assert response.status_code == 302, form_errors(response)
    channel = AlertChannel.objects.get()
    assert (channel.organization, channel.secret, channel.events) == (
        org,
        SECRET,
        ["job_failed", "tick_stale"],
    )
    assert list(channel.schedules.all()) == [schedule]

    change = f"/app/schedules/alertchannel/{channel.pk}/change/"
    page = client.get(change).content.decode()
    assert SECRET not in page
    assert "Invoices" in client.get("/app/schedules/alertchannel/").content.decode()
    # Saving the page as shown (secret empty) keeps the secret.
    kept = client.post(change, form(secret="", name="renamed"))
    assert kept.status_code == 302, form_errors(kept)
    channel.refresh_from_db()
    assert (channel.name, channel.secret) == ("renamed", SECRET)


def test_a_slack_url_is_not_shown_and_an_empty_field_keeps_it(org, staff_client):
    client = staff_client(org, Role.ADMIN)
    url = "http://127.0.0.1:8099/services/T0/B0/XyZsecret"
    assert client.post(ADD, form(kind="slack", target=url, secret="")).status_code == 302
    channel = AlertChannel.objects.get()
    change = f"/app/schedules/alertchannel/{channel.pk}/change/"
    assert "XyZsecret" not in client.get(change).content.decode()
    assert "XyZsecret" not in client.get("/app/schedules/alertchannel/").content.decode()
    assert client.post(change, form(kind="slack", target="", secret="")).status_code == 302
    channel.refresh_from_db()
    assert channel.target == url


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "email", "target": "nope"}, "target"),
        ({"target": "gopher://127.0.0.1/"}, "target"),
        ({"secret": ""}, "secret"),
        ({"events": ["job_exploded"]}, "events"),
    ],
)
def test_it_refuses_bad_input_on_the_field(org, staff_client, change, field):
    response = staff_client(org, Role.ADMIN).post(ADD, form(**change))
    assert response.status_code == 200
    assert list(form_errors(response)) == [field]
    assert not AlertChannel.objects.exists()


def test_another_organizations_schedules_are_refused(org, other_org, staff_client):
    theirs = ScheduleFactory(organization=other_org)
    response = staff_client(org, Role.ADMIN).post(ADD, form(schedules=[str(theirs.pk)]))
    assert response.status_code == 200
    assert list(form_errors(response)) == ["schedules"]


def test_send_test_records_a_delivery_shown_read_only(org, other_org, staff_client):
    ours = AlertChannel.objects.create(
        organization=org, name="ours", kind=ChannelKind.EMAIL, target="a@example.com"
    )
    theirs = AlertChannel.objects.create(
        organization=other_org, name="theirs", kind=ChannelKind.EMAIL, target="b@example.com"
    )
    client = staff_client(org, Role.OPERATOR)
    response = client.post(
        "/app/schedules/alertchannel/",
        {"action": "send_test", "_selected_action": [str(ours.pk), str(theirs.pk)]},
    )
    assert response.status_code == 302
    [delivery] = AlertDelivery.objects.all()
    assert (delivery.channel, delivery.event, delivery.status) == (ours, "test", "pending")

    listing = client.get("/app/schedules/alertdelivery/")
    assert listing.status_code == 200 and "ours" in listing.content.decode()
    page = client.get(f"/app/schedules/alertdelivery/{delivery.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    AlertDelivery.objects.create(
        channel=theirs,
        event="test",
        subject="x",
        dedup_key="x",
        title="t",
        body="b",
        next_attempt_at=delivery.created_at,
        created_at=delivery.created_at,
    )
    other = AlertDelivery.objects.get(channel=theirs)
    assert client.get(f"/app/schedules/alertdelivery/{other.pk}/change/").status_code in (302, 404)


def test_a_viewer_cannot_send_a_test(org, staff_client):
    channel = AlertChannel.objects.create(
        organization=org, name="ours", kind=ChannelKind.EMAIL, target="a@example.com"
    )
    staff_client(org, Role.VIEWER).post(
        "/app/schedules/alertchannel/",
        {"action": "send_test", "_selected_action": [str(channel.pk)]},
    )
    assert not AlertDelivery.objects.exists()
