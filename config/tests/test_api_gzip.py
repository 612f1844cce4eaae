"""The API's GET answers are gzipped for clients that accept it; POST answers (which may carry a
token or a job's secrets) and the admin's HTML pages never are (config/middleware.py: BREACH)."""

from __future__ import annotations

import gzip
import json

import pytest
from django.test import Client

from tests.factories import ScriptFactory

pytestmark = pytest.mark.django_db


def test_it_gzips_a_large_api_list_for_a_client_that_accepts_it(api, org):
    ScriptFactory.create_batch(20, organization=org)

    response = api.get("/api/scripts/?pageSize=50", HTTP_ACCEPT_ENCODING="gzip")

    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    body = json.loads(gzip.decompress(response.content))
    assert body["count"] == 20


def test_it_answers_plain_json_to_a_client_that_does_not_accept_gzip(api, org):
    ScriptFactory.create_batch(20, organization=org)

    response = api.get("/api/scripts/?pageSize=50")

    assert not response.has_header("Content-Encoding")
    assert response.json()["count"] == 20


def test_it_never_gzips_a_post_answer(api):
    response = api.post(
        "/api/agents/",
        {"name": "Bot " + "x" * 150, "slug": "bot"},
        format="json",
        HTTP_ACCEPT_ENCODING="gzip",
    )

    assert response.status_code == 201, response.content
    assert "token" in json.dumps(response.json()).lower()
    assert not response.has_header("Content-Encoding")


def test_it_never_gzips_the_admin_pages(db):
    response = Client().get("/app/login/", HTTP_ACCEPT_ENCODING="gzip")

    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content
    assert not response.has_header("Content-Encoding")
