"""What every REST endpoint shares: Idempotency-Key, throttling, ETag/If-Match, cursor pages,
the error shape, the OpenAPI schema and its docs page. Exercised through the tags endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import principal_for
from tests.factories import ConnectionFactory, OAuthAccessTokenFactory, OAuthApplicationFactory, TagFactory
from workspaces import connection_services
from workspaces.api_base import idempotency_purge
from workspaces.models import Connection, IdempotencyRecord, Tag

pytestmark = pytest.mark.django_db
TAGS = "/api/v1/workspaces/acme/tags"


def key_for(membership, scopes=("read", "write")) -> str:
    return connection_services.api_key_create(actor=principal_for(membership), label="k", scopes=list(scopes)).secret


@pytest.fixture
def api(manager):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key_for(manager)}")
    return client


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.delete_many([f"rate:principal:connection:{pk}" for pk in Connection.objects.values_list("pk", flat=True)])
    yield
    cache.delete_many([f"rate:principal:connection:{pk}" for pk in Connection.objects.values_list("pk", flat=True)])


# --- Idempotency-Key ------------------------------------------------------------------------------


def test_the_same_key_and_body_replays_the_first_response(api, workspace):
    first = api.post(TAGS, {"name": "urgent"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post(TAGS, {"name": "urgent"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Tag.objects.filter(workspace=workspace, name="urgent").count() == 1


def test_a_replayed_error_is_the_first_error(api, workspace):
    TagFactory(workspace=workspace, name="taken")
    first = api.post(TAGS, {"name": "taken"}, format="json", HTTP_IDEMPOTENCY_KEY="k-err")
    Tag.objects.filter(name="taken").delete()  # the retry would now succeed, but replays
    again = api.post(TAGS, {"name": "taken"}, format="json", HTTP_IDEMPOTENCY_KEY="k-err")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()


def test_the_same_key_with_another_body_is_422(api):
    api.post(TAGS, {"name": "one"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = api.post(TAGS, {"name": "two"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_mismatch"
    assert not Tag.objects.filter(name="two").exists()


def test_the_same_key_while_the_first_runs_is_409_and_an_abandoned_run_is_taken_over(api, manager, workspace):
    fingerprint_source = api.post(TAGS, {"name": "probe"}, format="json", HTTP_IDEMPOTENCY_KEY="k-probe")
    assert fingerprint_source.status_code == 201
    probe = IdempotencyRecord.objects.get(key="k-probe")
    running = IdempotencyRecord.objects.create(
        principal_key=probe.principal_key, key="k-3", fingerprint=_fingerprint_of(api, {"name": "slow"})
    )

    busy = api.post(TAGS, {"name": "slow"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "conflict"

    IdempotencyRecord.objects.filter(pk=running.pk).update(created_at=timezone.now() - timedelta(minutes=6))
    taken_over = api.post(TAGS, {"name": "slow"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert taken_over.status_code == 201
    assert Tag.objects.filter(workspace=workspace, name="slow").count() == 1


def _fingerprint_of(api, body) -> str:
    """The fingerprint the server computes, read from a record made by an identical request."""
    api.post(TAGS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-fp")
    record = IdempotencyRecord.objects.get(key="k-fp")
    fingerprint = record.fingerprint
    Tag.objects.filter(name=body["name"]).delete()
    record.delete()
    return fingerprint


def test_keys_belong_to_their_principal(api, admin, workspace):
    api.post(TAGS, {"name": "mine"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {key_for(admin)}")
    response = other.post(TAGS, {"name": "theirs"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 201
    assert response.json()["name"] == "theirs"


def test_a_malformed_key_is_400(api):
    response = api.post(TAGS, {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="has space")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]


def test_records_are_kept_a_day_and_purged_after_two(api):
    api.post(TAGS, {"name": "old"}, format="json", HTTP_IDEMPOTENCY_KEY="k-old")
    api.post(TAGS, {"name": "new"}, format="json", HTTP_IDEMPOTENCY_KEY="k-new")
    IdempotencyRecord.objects.filter(key="k-old").update(created_at=timezone.now() - timedelta(hours=49))
    IdempotencyRecord.objects.filter(key="k-new").update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k-new"]


# --- throttling -----------------------------------------------------------------------------------


def test_a_principal_over_its_rate_gets_429_with_retry_after(api, settings):
    settings.API_THROTTLE_RATES = {"principal": "3/min", "client_application": "1000/min"}
    statuses = [api.get(TAGS).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get(TAGS)
    assert response.json()["error"]["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_the_count_is_one_number_and_the_window_reopens_when_it_ends(api, manager, settings):
    settings.API_THROTTLE_RATES = {"principal": "2/min", "client_application": "1000/min"}
    key = f"rate:principal:connection:{Connection.objects.get(user=manager.user).pk}"
    assert [api.get(TAGS).status_code for _ in range(3)] == [200, 200, 429]
    assert cache.get(key) == 3  # a counter, not a list of every request's time
    backend: Any = cache
    client = backend._cache.get_client(key, write=True)
    client.expire(backend.make_and_validate_key(key), 7)
    assert api.get(TAGS)["Retry-After"] == "7"  # what is left of the window
    cache.delete(key)  # the window ends
    assert api.get(TAGS).status_code == 200


def test_the_list_an_earlier_release_left_in_the_cache_does_not_switch_limits_off(api, manager, settings):
    settings.API_THROTTLE_RATES = {"principal": "2/min", "client_application": "1000/min"}
    pk = Connection.objects.get(user=manager.user).pk
    cache.set(f"throttle:principal:connection:{pk}", [1795481808.38, 1795481808.39], 60)  # DRF's format
    assert [api.get(TAGS).status_code for _ in range(3)] == [200, 200, 429]
    cache.delete(f"throttle:principal:connection:{pk}")


def test_one_principal_over_its_rate_does_not_stop_another(api, admin, settings):
    settings.API_THROTTLE_RATES = {"principal": "2/min", "client_application": "1000/min"}
    for _ in range(3):
        api.get(TAGS)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {key_for(admin)}")
    assert other.get(TAGS).status_code == 200


def test_a_client_application_is_limited_across_its_connections(member, manager, settings):
    settings.API_THROTTLE_RATES = {"principal": "1000/min", "client_application": "3/min"}
    application = OAuthApplicationFactory()
    cache.delete(f"rate:client:{application.pk}")
    clients = []
    for membership in (member, manager):
        token = OAuthAccessTokenFactory(
            connection=ConnectionFactory(membership=membership, application=application), token=f"tok-{membership.pk}"
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
        clients.append(client)
    statuses = [clients[i % 2].get(TAGS).status_code for i in range(4)]
    cache.delete(f"rate:client:{application.pk}")
    assert statuses == [200, 200, 200, 429]


# --- ETag / If-Match ------------------------------------------------------------------------------


def test_an_object_has_an_etag_and_a_matching_if_none_match_is_304(api, workspace):
    tag = TagFactory(workspace=workspace, name="a")
    first = api.get(f"{TAGS}/{tag.pk}")
    etag = first["ETag"]
    assert etag.startswith('"')
    assert api.get(f"{TAGS}/{tag.pk}", HTTP_IF_NONE_MATCH=etag).status_code == 304
    Tag.objects.filter(pk=tag.pk).update(name="b")
    changed = api.get(f"{TAGS}/{tag.pk}", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_a_patch_with_a_stale_if_match_is_412_and_changes_nothing(api, workspace):
    tag = TagFactory(workspace=workspace, name="a")
    etag = api.get(f"{TAGS}/{tag.pk}")["ETag"]
    Tag.objects.filter(pk=tag.pk).update(name="changed elsewhere")

    stale = api.patch(f"{TAGS}/{tag.pk}", {"name": "mine"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    tag.refresh_from_db()
    assert tag.name == "changed elsewhere"

    fresh = api.get(f"{TAGS}/{tag.pk}")["ETag"]
    ok = api.patch(f"{TAGS}/{tag.pk}", {"name": "mine"}, format="json", HTTP_IF_MATCH=fresh)
    assert ok.status_code == 200
    assert ok.json()["name"] == "mine"


# --- pages, bad input, downloads --------------------------------------------------------------------


def test_lists_page_with_a_cursor_and_a_bounded_limit(api, workspace):
    for i in range(7):
        TagFactory(workspace=workspace, name=f"t{i}")
    first = api.get(TAGS, {"limit": 5}).json()
    assert [t["name"] for t in first["results"]] == ["t0", "t1", "t2", "t3", "t4"]
    second = api.get(first["next"]).json()
    assert [t["name"] for t in second["results"]] == ["t5", "t6"]
    assert second["next"] is None
    assert len(api.get(TAGS, {"limit": 10_000}).json()["results"]) == 7  # capped at 200, never unbounded


def test_unknown_fields_are_named_in_a_400(api):
    response = api.post(TAGS, {"name": "x", "workspace": 99, "is_archived": True}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"workspace", "is_archived"}


def test_format_names_a_download_not_a_renderer(api):
    response = api.get("/api/v1/workspaces/acme", {"format": "json"})
    assert response.status_code == 200


# --- schema and docs ---------------------------------------------------------------------------------


def test_the_schema_documents_errors_security_and_split_components(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert set(schema["components"]["securitySchemes"]) >= {"oauth2", "apiKey"}
    flows = schema["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]
    assert set(flows["scopes"]) == {"read", "write", "admin"}
    tags_post = schema["paths"]["/api/v1/workspaces/{workspace_slug}/tags"]["post"]
    assert {"400", "401", "403", "404", "409", "422", "429"} <= set(tags_post["responses"])
    assert tags_post["security"][0] == {"oauth2": ["write"]}
    assert "TagCreateInputRequest" in schema["components"]["schemas"]  # request and response split
    assert "Error" in schema["components"]["schemas"]
    patch = schema["paths"]["/api/v1/workspaces/{workspace_slug}/tags/{id}"]["patch"]
    assert "412" in patch["responses"]


def test_the_docs_page_serves_swagger_ui_from_this_server(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn.jsdelivr.net" not in page
    assert "/static/drf_spectacular_sidecar/" in page


def test_a_value_of_the_wrong_json_type_is_refused_not_coerced(api):
    response = api.post(TAGS, {"name": 5}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"name": ["Expected a string, got int."]}
    assert not Tag.objects.filter(name="5").exists()


def test_a_bad_limit_or_cursor_is_a_400_naming_it(api):
    for query, field in (({"limit": "ten"}, "limit"), ({"limit": "0"}, "limit"), ({"cursor": "garbage"}, "cursor")):
        response = api.get(TAGS, query)
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == [field]


def test_bodies_are_json_only(api):
    response = api.post(TAGS, {"name": "form"})  # multipart
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_once_the_key_is_known_its_count_rides_on_the_credentials_check(api, settings, monkeypatch):
    from workspaces import api_base

    settings.API_THROTTLE_RATES = {"principal": "3/min", "client_application": "1000/min"}
    counted_alone: list[str] = []
    count = api_base.count_in_window

    def counting_alone(key: str, *, window: int) -> int:
        counted_alone.append(key)
        return count(key, window=window)

    monkeypatch.setattr(api_base, "count_in_window", counting_alone)
    assert [api.get(TAGS).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert len(counted_alone) == 1  # the first request only: the key was not known in this process yet
