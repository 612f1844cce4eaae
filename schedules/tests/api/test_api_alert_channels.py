"""/api/alert-channels/ (SPEC §14): CRUD scoped to the organization (another's is a 404), 400s
naming the field, secrets write-only, and the send-test action recording a delivery."""

from __future__ import annotations

import pytest

from billing.models import Role
from schedules.alert_models import AlertChannel, AlertDelivery
from tests.factories import ScheduleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_alert_webhooks")]

SECRET = "whsec-never-shown-0123"


def webhook_body(**kw):
    return {
        "name": "ops hook",
        "kind": "webhook",
        "target": "http://127.0.0.1:8099/hook",
        "secret": SECRET,
        "events": ["job_failed", "runs_skipped"],
        **kw,
    }


def test_it_creates_reads_edits_and_deletes_a_channel_and_never_returns_the_secret(api, org):
    schedule = ScheduleFactory(organization=org)
    created = api.post(
        "/api/alert-channels/", webhook_body(scheduleIds=[str(schedule.id)]), format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert set(body) == {
        "id",
        "name",
        "kind",
        "target",
        "hasSecret",
        "events",
        "scheduleIds",
        "skipsThreshold",
        "createdAt",
    }
    assert (body["kind"], body["scheduleIds"], body["skipsThreshold"]) == (
        "webhook",
        [str(schedule.id)],
        3,
    )
    assert body["hasSecret"] is True
    url = f"/api/alert-channels/{body['id']}/"
    for response in (api.get(url), api.get("/api/alert-channels/"), created):
        assert SECRET not in response.content.decode()

    # Sending back what was read (no secret) keeps the secret.
    edited = api.put(
        url,
        {
            **{k: body[k] for k in ("name", "kind", "target", "events")},
            "scheduleIds": [],
            "skipsThreshold": 5,
        },
        format="json",
    )
    assert edited.status_code == 200, edited.json()
    channel = AlertChannel.objects.get(pk=body["id"])
    assert (channel.secret, channel.skips_threshold, list(channel.schedules.all())) == (
        SECRET,
        5,
        [],
    )

    assert api.delete(url).status_code == 204
    assert not AlertChannel.objects.exists()


def test_a_slack_url_is_write_only_too(api):
    created = api.post(
        "/api/alert-channels/",
        {
            "name": "slack",
            "kind": "slack",
            "target": "http://127.0.0.1:8099/services/T0/B0/XyZsecret",
            "events": ["job_failed"],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["target"] == "http://127.0.0.1/…"
    assert (
        "XyZsecret" not in api.get(f"/api/alert-channels/{created.json()['id']}/").content.decode()
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "pager"}, "kind"),
        ({"events": ["job_exploded"]}, "events"),
        ({"events": "job_failed"}, "events"),
        ({"kind": "email", "target": "not an address"}, "target"),
        ({"kind": "email", "target": "ops@example.com, nope"}, "target"),
        ({"target": "ftp://127.0.0.1/x"}, "target"),
        ({"target": "not a url"}, "target"),
        ({"secret": ""}, "secret"),
        ({"skipsThreshold": 0}, "skipsThreshold"),
        ({"scheduleIds": ["00000000-0000-0000-0000-000000000000"]}, "scheduleIds"),
        ({"name": 42}, "name"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, change, field, assert_no_rows_written):
    with assert_no_rows_written():
        response = api.post("/api/alert-channels/", webhook_body(**change), format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field], response.json()


def test_a_private_or_metadata_address_is_refused_unless_allowed(api, settings):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = False
    for target in (
        "https://169.254.169.254/latest",
        "https://10.0.0.5/hook",
        "https://127.0.0.1/h",
    ):
        response = api.post("/api/alert-channels/", webhook_body(target=target), format="json")
        assert response.status_code == 400
        assert response.json() == {
            "target": ["The webhook URL must point to a public internet address."]
        }


def test_a_duplicate_name_is_a_400_on_name(api):
    assert api.post("/api/alert-channels/", webhook_body(), format="json").status_code == 201
    response = api.post("/api/alert-channels/", webhook_body(), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["name"]


def test_another_organizations_channel_is_a_404_and_its_schedules_are_not_ours(
    api, other_org, client_for
):
    theirs = client_for(other_org, Role.ADMIN)
    created = theirs.post("/api/alert-channels/", webhook_body(), format="json").json()
    url = f"/api/alert-channels/{created['id']}/"
    assert api.get(url).status_code == 404
    assert api.patch(url, {"name": "x"}, format="json").status_code == 404
    assert api.delete(url).status_code == 404
    assert api.post(f"/api/alert-channels/{created['id']}/test").status_code == 404
    assert api.get("/api/alert-channels/").json()["results"] == []
    their_schedule = ScheduleFactory(organization=other_org)
    response = api.post(
        "/api/alert-channels/", webhook_body(scheduleIds=[str(their_schedule.id)]), format="json"
    )
    assert response.status_code == 400 and list(response.json()) == ["scheduleIds"]


def test_viewers_read_operators_test_admins_write(org, client_for):
    admin = client_for(org, Role.ADMIN)
    channel_id = admin.post("/api/alert-channels/", webhook_body(), format="json").json()["id"]
    viewer, operator = client_for(org, Role.VIEWER), client_for(org, Role.OPERATOR)
    assert viewer.get("/api/alert-channels/").status_code == 200
    assert viewer.post(f"/api/alert-channels/{channel_id}/test").status_code == 403
    assert (
        operator.patch(
            f"/api/alert-channels/{channel_id}/", {"name": "x"}, format="json"
        ).status_code
        == 403
    )
    assert operator.post(f"/api/alert-channels/{channel_id}/test").status_code == 202


def test_send_test_records_a_pending_delivery_each_time(api):
    channel_id = api.post("/api/alert-channels/", webhook_body(), format="json").json()["id"]
    first = api.post(f"/api/alert-channels/{channel_id}/test")
    second = api.post(f"/api/alert-channels/{channel_id}/test")
    assert first.status_code == second.status_code == 202
    assert (first.json()["event"], first.json()["status"], first.json()["attempts"]) == (
        "test",
        "pending",
        0,
    )
    # A test is never deduplicated: each click is a delivery.
    assert AlertDelivery.objects.filter(channel_id=channel_id).count() == 2
    assert SECRET not in first.content.decode()
