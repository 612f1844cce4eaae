"""A secret's plaintext, once stored, is nowhere to be found: not in any table (only ciphertext),
not in any /api/vault/ response, not in the vault admin pages, not in captured logs (SPEC §8)."""

import base64
import logging

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from billing.models import Role
from tests.factories import member
from vault.models import VaultEntry

pytestmark = pytest.mark.django_db

SECRET = "pl41nt3xt-Needle-7f3a"
REPLACED = "r3placed-Needle-91bd"
ADMIN_SECRET = "adm1n-Needle-55c2"
NEEDLES = [SECRET, REPLACED, ADMIN_SECRET]


def forms_of(value: str) -> list[str]:
    return [value, base64.b64encode(value.encode()).decode().rstrip("=")]


def assert_clean(text: str, where: str) -> None:
    for needle in NEEDLES:
        for form in forms_of(needle):
            assert form not in text, f"{form!r} found in {where}"


def database_hits(needle: str) -> list[str]:
    """Every table of the schema, each row cast to text (all its columns), searched with LIKE."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(table_name) FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        hits = []
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table} t WHERE t::text LIKE %s", [f"%{needle}%"])
            if cursor.fetchone()[0]:
                hits.append(table)
    return hits


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    previous = connection.force_debug_cursor
    connection.force_debug_cursor = True  # log every SQL statement with its parameters
    yield caplog
    connection.force_debug_cursor = previous


def test_it_keeps_the_plaintext_out_of_the_database_responses_pages_and_logs(org, debug_logs):
    user = member(org, Role.OWNER)
    api = APIClient()
    api.force_authenticate(user)
    responses = []

    # Through the API: create, list, read, replace, and failing writes.
    created = api.post("/api/vault/", {"key": "SAP_PASSWORD", "value": SECRET}, format="json")
    assert created.status_code == 201
    entry_id = created.json()["id"]
    responses += [
        created,
        api.get("/api/vault/"),
        api.get(f"/api/vault/{entry_id}/"),
        api.post("/api/vault/", {"key": "SAP_PASSWORD", "value": SECRET}, format="json"),
        api.post("/api/vault/", {"key": "bad key", "value": SECRET}, format="json"),
        api.put(
            f"/api/vault/{entry_id}/", {"key": "SAP_PASSWORD", "value": REPLACED}, format="json"
        ),
        api.put(f"/api/vault/{entry_id}/", {"key": "bad key", "value": REPLACED}, format="json"),
        api.patch(f"/api/vault/{entry_id}/", {"value": ""}, format="json"),
    ]

    # Through the admin: set a value, fail a POST with it, look at every page.
    admin = Client()
    admin.force_login(user)
    added = admin.post(
        "/app/vault/vaultentry/add/", {"key": "ADMIN_KEY", "value": ADMIN_SECRET, "description": ""}
    )
    assert added.status_code == 302
    admin_entry = VaultEntry.objects.get(key="ADMIN_KEY")
    failed_add = admin.post(
        "/app/vault/vaultentry/add/", {"key": "1 bad", "value": ADMIN_SECRET, "description": ""}
    )
    assert failed_add.status_code == 200 and failed_add.context["errors"]
    duplicate_add = admin.post(
        "/app/vault/vaultentry/add/", {"key": "ADMIN_KEY", "value": ADMIN_SECRET, "description": ""}
    )
    assert duplicate_add.status_code == 200 and duplicate_add.context["errors"]
    failed_change = admin.post(
        f"/app/vault/vaultentry/{admin_entry.pk}/change/",
        {"key": "", "value": REPLACED, "description": ""},
    )
    assert failed_change.status_code == 200
    responses += [
        failed_add,
        duplicate_add,
        failed_change,
        admin.get("/app/vault/vaultentry/"),
        admin.get(f"/app/vault/vaultentry/{admin_entry.pk}/change/"),
        admin.get(f"/app/vault/vaultentry/{entry_id}/change/"),
        admin.get(f"/app/vault/vaultentry/{entry_id}/history/"),
        admin.get(f"/app/vault/vaultentry/{entry_id}/delete/"),
        admin.get("/app/vault/vaultentry/add/"),
    ]

    # Logs first: the scan below logs its own LIKE patterns.
    logged = debug_logs.text
    assert 'INSERT INTO "vault_vaultentry"' in logged  # SQL was logged: the check means something
    assert_clean(logged, "captured logs")
    for response in responses:
        assert_clean(response.content.decode(), f"{response.request['PATH_INFO']} response")
    assert VaultEntry.objects.filter(key__in=["SAP_PASSWORD", "ADMIN_KEY"]).count() == 2
    for needle in NEEDLES:
        for form in forms_of(needle):
            assert database_hits(form) == [], f"{form!r} stored in the database"


def test_it_would_find_a_plaintext_stored_in_any_column(org):
    # The scan itself works: a value put in a plain text column is found.
    VaultEntry.objects.create(organization=org, key="K", ciphertext="x", description=SECRET)
    assert database_hits(SECRET) == ["vault_vaultentry"]
