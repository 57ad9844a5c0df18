"""bench/instructions.py drives the real ASGI application as uvicorn would, and refuses unknown kinds."""

from __future__ import annotations

import asyncio
import sys

import pytest

from bench import instructions
from timetracker.asgi import django_application


@pytest.mark.django_db(transaction=True)
def test_a_request_goes_through_the_application_and_answers_its_status():
    url = "/api/v1/workspaces/nowhere/time-entries"
    key = [(b"authorization", b"Bearer tt_unknown")]
    assert asyncio.run(instructions._asgi(django_application, "GET", url, key, b"")) == 401
    assert asyncio.run(instructions._asgi(django_application, "GET", "/healthz", key, b"")) == 200


def test_an_unknown_kind_is_refused_with_the_kinds_to_choose_from(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["instructions.py", "--kinds", "post,put"])
    with pytest.raises(SystemExit):
        instructions.main()
    assert "unknown kinds: put; choose from post, get, log_time, list_time_entries" in capsys.readouterr().err


def test_the_served_kinds_go_through_the_sdk_transport_and_count_only_the_measured_calls(monkeypatch):
    counted: list[bool] = []
    monkeypatch.setattr(instructions, "_counting", lambda *, on: counted.append(on))
    monkeypatch.setattr(instructions, "WARM_UP", 2)
    answered: list[int] = []
    real_asgi = instructions._asgi

    async def recording(*args, **kwargs):
        status = await real_asgi(*args, **kwargs)
        answered.append(status)
        return status

    monkeypatch.setattr(instructions, "_asgi", recording)
    asyncio.run(instructions._serve_mcp("bare", {}, 3))  # the bare server's constant tool: no credentials
    assert answered == [200] * 5
    assert counted == [True, False]
