"""Lists paginate DRF page-number style: {count, next, previous, results}, ?page=, ?pageSize=
up to 500 (config/pagination.py, seen through /api/scripts/: config knows no app of ours, so the
rows come from the shared factories)."""

from __future__ import annotations

import pytest

from tests.factories import ScriptFactory

pytestmark = pytest.mark.django_db


def scripts(organization, n: int) -> list:
    """n scripts of `organization`, in one INSERT."""
    built = ScriptFactory.build_batch(n, organization=organization)
    return type(built[0]).objects.bulk_create(built)


def test_it_paginates_with_count_next_previous_results(api, org):
    made = ScriptFactory.create_batch(5, organization=org)

    first = api.get("/api/scripts/?pageSize=2").json()
    second = api.get("/api/scripts/?pageSize=2&page=2").json()
    last = api.get("/api/scripts/?pageSize=2&page=3").json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 5 and len(first["results"]) == 2
    assert first["previous"] is None
    assert first["next"].endswith("/api/scripts/?page=2&pageSize=2")
    assert len(second["results"]) == 2 and second["previous"] and second["next"]
    assert len(last["results"]) == 1 and last["next"] is None
    ids = [s["id"] for page in (first, second, last) for s in page["results"]]
    assert sorted(ids) == sorted(str(script.pk) for script in made)


def test_it_caps_the_page_size_at_500(api, org):
    scripts(org, 501)

    data = api.get("/api/scripts/?pageSize=10000").json()

    assert data["count"] == 501
    assert len(data["results"]) == 500


def test_it_defaults_to_50_per_page(api, org):
    scripts(org, 51)

    assert len(api.get("/api/scripts/").json()["results"]) == 50


def test_it_answers_404_past_the_last_page(api, org):
    ScriptFactory(organization=org)

    assert api.get("/api/scripts/?page=2").status_code == 404
    assert api.get("/api/scripts/?page=zero").status_code == 404
