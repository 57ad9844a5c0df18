"""The per-process credential cache (workspaces/credentials.py): fast, and never stale.

A revocation made by another process stops this process's next lookup; expiry needs no
announcement; without the shared cache every lookup reads the database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.conftest import principal_for
from tests.factories import ConnectionFactory, OAuthAccessTokenFactory
from tests.workspaces.audit_harness import ROOT, worker_database_url
from timetracker.cache import count_in_window
from workspaces import connection_services, credentials
from workspaces.models import Connection, Role

REVOKE_ELSEWHERE = """
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timetracker.settings")
django.setup()
from workspaces.connection_services import connection_revoke
from workspaces.models import Connection, Membership
from workspaces.principals import Principal
connection = Connection.objects.get(pk=int(sys.argv[1]))
owner = Membership.objects.get(user=connection.user, workspace=connection.workspace)
connection_revoke(actor=Principal(user=owner.user, membership=owner), connection=connection)
"""


def api_key(membership) -> tuple[str, int]:
    key = connection_services.api_key_create(actor=principal_for(membership), label="cache", scopes=["read", "write"])
    return key.secret, key.connection.pk


@pytest.mark.django_db
def test_a_credential_is_read_once_and_each_use_gets_its_own_copy(member, django_assert_num_queries):
    secret, _ = api_key(member)
    first = credentials.bearer_lookup(secret)
    assert first is not None
    assert first.principal.membership.pk == member.pk
    assert first.principal.scopes == frozenset({"read", "write"})

    first.principal.membership.role = Role.OWNER  # a service changing the caller's object
    with django_assert_num_queries(0):
        again = credentials.bearer_lookup(secret)
    assert again is not None
    assert again.principal.membership.role == Role.MEMBER
    assert again.principal.membership is not first.principal.membership

    again.principal.workspace.name = "Renamed in a request"  # nor its workspace, user or connection
    again.principal.user.email = "changed@example.com"
    assert again.principal.connection is not None
    again.principal.connection.label = "changed"
    third = credentials.bearer_lookup(secret)
    assert third is not None
    assert third.principal.workspace.name == member.workspace.name
    assert third.principal.user.email == member.user.email
    assert third.principal.connection is not None
    assert third.principal.connection.label == "cache"
    assert third.principal.connection.pk == again.principal.connection.pk


@pytest.mark.django_db
def test_a_change_in_this_process_stops_the_next_lookup(member):
    secret, _ = api_key(member)
    assert credentials.bearer_lookup(secret) is not None
    member.is_active = False
    member.save()
    assert credentials.bearer_lookup(secret) is None


@pytest.mark.django_db(transaction=True)
def test_a_revocation_in_another_process_stops_the_next_lookup_here(member, django_assert_num_queries):
    secret, connection_id = api_key(member)
    assert credentials.bearer_lookup(secret) is not None
    with django_assert_num_queries(0):  # cached
        assert credentials.bearer_lookup(secret) is not None

    subprocess.run(
        [sys.executable, "-c", REVOKE_ELSEWHERE, str(connection_id)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": worker_database_url(), "DJANGO_DEBUG": "1"},
        check=True,
        timeout=120,
    )

    assert credentials.bearer_lookup(secret) is None


@pytest.mark.django_db
def test_an_expired_token_stops_without_any_announcement(member, monkeypatch, django_assert_num_queries):
    connection = ConnectionFactory(membership=member)
    token = OAuthAccessTokenFactory(
        connection=connection, user=member.user, expires=timezone.now() + timedelta(minutes=5)
    )
    assert credentials.bearer_lookup(token.token) is not None

    later = timezone.now() + timedelta(minutes=6)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with django_assert_num_queries(0):  # the cached entry knows its expiry
        assert credentials.bearer_lookup(token.token) is None


@pytest.mark.django_db
def test_without_the_shared_cache_every_lookup_reads_the_database(member, monkeypatch, django_assert_num_queries):
    secret, _ = api_key(member)

    def unreachable(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(credentials.cache, "get", unreachable)
    monkeypatch.setattr(credentials, "get_and_count", unreachable)  # the generation's read
    for _ in range(2):
        with django_assert_num_queries(2):  # the key's connection, then the membership
            assert credentials.bearer_lookup(secret) is not None


@pytest.mark.django_db
def test_an_entry_is_trusted_for_max_age_at_most(member, monkeypatch, django_assert_num_queries):
    secret, _ = api_key(member)
    assert credentials.bearer_lookup(secret) is not None
    monkeypatch.setattr(credentials, "MAX_AGE", 0.0)
    with django_assert_num_queries(2):
        assert credentials.bearer_lookup(secret) is not None


@pytest.mark.django_db
def test_an_unknown_credential_is_none_and_not_cached(django_assert_num_queries):
    for _ in range(2):
        with django_assert_num_queries(1):
            assert credentials.bearer_lookup("tt_" + "x" * 40) is None


@pytest.mark.django_db
def test_rate_windows_are_counted_in_the_generations_round_trip_once_the_credential_is_known(member, monkeypatch):
    secret, pk = api_key(member)
    key = f"rate:probe:connection:{pk}"
    cache.delete(key)
    asked: list[int] = []

    def windows(principal):
        asked.append(principal.connection.pk)
        return [(key, 60)]

    bearer, counts = credentials.bearer_lookup_counting(secret, windows)
    assert bearer is not None
    assert counts == {}  # not known yet in this process: the caller counts on its own
    reads: list[list[tuple[str, int]]] = []
    read = credentials.get_and_count

    def counted_read(key: str, windows: list[tuple[str, int]]) -> object:
        reads.append(list(windows))
        return read(key, windows)

    monkeypatch.setattr(credentials, "get_and_count", counted_read)

    assert credentials.bearer_lookup_counting(secret, windows)[1] == {key: 1}
    assert count_in_window(key, window=60) == 2  # one counter, whoever counts
    assert credentials.bearer_lookup_counting(secret, windows)[1] == {key: 3}
    assert reads == [[(key, 60)], [(key, 60)]]  # each lookup: one read, the generation and the count
    assert set(asked) == {pk}
    cache.delete(key)


@pytest.mark.django_db
def test_a_credential_revoked_elsewhere_is_refused_though_its_window_was_counted(member):
    secret, pk = api_key(member)
    key = f"rate:probe:connection:{pk}"
    cache.delete(key)
    assert credentials.bearer_lookup_counting(secret, lambda p: [(key, 60)])[0] is not None
    # As another process revokes: the row changes and the shared generation is replaced; this
    # process's entry stays until its next lookup.
    Connection.objects.filter(pk=pk).update(revoked_at=timezone.now())
    cache.set(credentials.GENERATION_KEY, "changed-elsewhere", timeout=None)

    bearer, counts = credentials.bearer_lookup_counting(secret, lambda p: [(key, 60)])
    assert bearer is None
    assert counts == {key: 1}  # counted for a principal that can no longer call
    cache.delete(key)
