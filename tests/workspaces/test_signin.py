"""Sign-in: every attempt audited; too many failures lock the username out for that address."""

import pytest
from django.core.cache import cache

from tests.factories import UserFactory
from workspaces.models import AuditEvent
from workspaces.signin import _throttle_key

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture
def user(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    user = UserFactory(username="sam")
    cache.delete(_throttle_key("sam", "127.0.0.1"))
    yield user
    cache.delete(_throttle_key("sam", "127.0.0.1"))


def sign_in(client, password, url="/accounts/login/"):
    return client.post(url, {"username": "sam", "password": password})


def test_a_good_sign_in_is_audited(client, user):
    response = sign_in(client, PASSWORD)
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="auth.login")
    assert (event.actor, event.outcome, event.channel) == (user, "ok", "web")


def test_failures_are_audited_and_then_throttled_even_with_the_right_password(client, user):
    for _ in range(3):
        response = sign_in(client, "wrong")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    response = sign_in(client, PASSWORD)
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    denied = AuditEvent.objects.filter(action="auth.login", outcome="denied")
    assert denied.count() == 3
    assert {event.detail["username"] for event in denied} == {"sam"}
    assert all(event.request_id for event in denied)  # each tied to its request


def test_the_admin_login_is_throttled_too(client, user):
    user.is_staff = True
    user.save()
    for _ in range(3):
        sign_in(client, "wrong", url="/admin/login/")
    response = sign_in(client, PASSWORD, url="/admin/login/")
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
