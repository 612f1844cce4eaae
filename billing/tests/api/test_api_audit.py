"""GET /api/audit/ (SPEC §14): the caller's organization's entries only (another's entry is a
404), newest first, filtered by object, action, actor and time, paginated with a constant
number of queries, and readable by every member but written by no one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.audit import Actor, audit_record
from billing.models import AuditAction, AuditEntry, AuditObjectType, Role

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def _entry(org, *, minutes=0, action=AuditAction.EDITED, actor=None, object_id="s1", **fields):
    return audit_record(
        actor=actor or Actor(kind="user", ref="1", label="alice"),
        organization_id=org.id,
        action=action,
        object_type=fields.pop("object_type", AuditObjectType.SCHEDULE),
        object_id=object_id,
        object_label=fields.pop("object_label", "nightly"),
        now=T0 + timedelta(minutes=minutes),
        **fields,
    )


def test_it_lists_only_the_callers_organization_newest_first(org, other_org, client_for):
    older = _entry(org, minutes=0)
    newer = _entry(org, minutes=5, action=AuditAction.PAUSED, note="portal down")
    theirs = _entry(other_org, minutes=10, object_label="globex secret plans")

    viewer = client_for(org, Role.VIEWER)
    body = viewer.get("/api/audit/").json()
    assert body["count"] == 2
    assert [e["id"] for e in body["results"]] == [str(newer.id), str(older.id)]
    assert "globex" not in str(body)
    first = body["results"][0]
    assert first == {
        "id": str(newer.id),
        "at": "2026-11-26T14:05:00Z",
        "actorKind": "user",
        "actorId": "1",
        "actorLabel": "alice",
        "action": "paused",
        "objectType": "schedule",
        "objectId": "s1",
        "objectLabel": "nightly",
        "changes": {},
        "note": "portal down",
    }
    assert viewer.get(f"/api/audit/{older.id}/").status_code == 200
    # Another organization's entry does not exist for this caller, by id or by filter.
    assert viewer.get(f"/api/audit/{theirs.id}/").status_code == 404
    assert (
        viewer.get("/api/audit/", {"objectId": "s1", "objectType": "schedule"}).json()["count"] == 2
    )
    other = client_for(other_org, Role.OWNER)
    assert [e["id"] for e in other.get("/api/audit/").json()["results"]] == [str(theirs.id)]
    assert other.get(f"/api/audit/{older.id}/").status_code == 404


def test_changes_are_shown_with_the_apis_field_names(org, client_for):
    _entry(org, changes={"cron_expression": ["0 2 * * *", "30 2 * * *"], "script_id": ["a", "b"]})
    [entry] = client_for(org, Role.VIEWER).get("/api/audit/").json()["results"]
    assert entry["changes"] == {
        "cronExpression": ["0 2 * * *", "30 2 * * *"],
        "scriptId": ["a", "b"],
    }


def test_it_filters_by_object_action_actor_and_time(org, client_for):
    a = _entry(org, minutes=0, object_id="s1")
    b = _entry(org, minutes=10, object_id="s2", action=AuditAction.FORCED)
    c = _entry(
        org,
        minutes=20,
        object_id="ag1",
        object_type=AuditObjectType.AGENT,
        action=AuditAction.ROTATED,
        actor=Actor(kind="user", ref="2", label="bob"),
    )
    d = _entry(org, minutes=30, object_id="s1", actor=Actor.system("auto-pause"))
    viewer = client_for(org, Role.VIEWER)

    def ids(**params):
        response = viewer.get("/api/audit/", params)
        assert response.status_code == 200, response.content
        return [e["id"] for e in response.json()["results"]]

    assert ids(objectType="agent") == [str(c.id)]
    assert ids(objectType="schedule", objectId="s1") == [str(d.id), str(a.id)]
    assert ids(action="forced") == [str(b.id)]
    assert ids(actor="bob") == [str(c.id)]
    assert ids(actorKind="system") == [str(d.id)]
    assert ids(since="2026-11-26T14:10:00Z", until="2026-11-26T14:30:00Z") == [
        str(c.id),
        str(b.id),
    ]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("action", "exploded"),
        ("objectType", "spaceship"),
        ("actorKind", "ghost"),
        ("since", "yesterday"),
        ("until", "2026-13-01T00:00:00Z"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(org, client_for, param, value):
    response = client_for(org, Role.VIEWER).get("/api/audit/", {param: value})
    assert response.status_code == 400
    assert param in response.json()


def test_nobody_writes_through_the_api(org, client_for):
    entry = _entry(org)
    owner = client_for(org, Role.OWNER)
    assert owner.post("/api/audit/", {}, format="json").status_code == 405
    assert owner.delete(f"/api/audit/{entry.id}/").status_code == 405
    assert owner.patch(f"/api/audit/{entry.id}/", {"note": "x"}, format="json").status_code == 405
    assert AuditEntry.objects.get().note == ""


def test_strangers_see_nothing(org, client):
    _entry(org)
    assert client.get("/api/audit/").status_code in (401, 403)


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_a_page_costs_a_constant_number_of_queries(org, client_for):
    viewer = client_for(org, Role.VIEWER)
    for i in range(3):
        _entry(org, minutes=i, changes={"name": ["a", "b"]})
    few = _queries(viewer, "/api/audit/?pageSize=50")
    for i in range(3, 60):
        _entry(org, minutes=i, changes={"name": ["a", "b"]}, object_id=f"s{i}")
    assert _queries(viewer, "/api/audit/?pageSize=50") == few
    assert _queries(viewer, "/api/audit/?pageSize=50&page=2") == few
    body = viewer.get("/api/audit/?pageSize=50&page=2").json()
    assert (body["count"], len(body["results"])) == (60, 10)


@pytest.mark.parametrize(
    ("instant", "code"),
    [
        ("0048-09-04T18:18:08.44-23:58", 200),  # an offset PostgreSQL refuses: made UTC first
        ("0001-01-01T00:00:00+05:00", 400),  # before year 1 in UTC
        ("2026-11-26T14:00:00", 200),
    ],
)
def test_any_parsable_instant_is_an_answer_never_a_500(org, client_for, instant, code):
    response = client_for(org, Role.VIEWER).get("/api/audit/", {"until": instant})
    assert response.status_code == code, response.content
    if code == 400:
        assert "until" in response.json()
