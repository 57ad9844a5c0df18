"""Browser tests: Debian's chromium, driven by Playwright, against uvicorn serving the app on the test database.

Each test makes its data in committed transactions (the server is another process), signs in
through the real form and clicks through the pages. Nothing leaves loopback: any other request
is aborted and fails the test. A failing test leaves a screenshot under ``test-results/e2e/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.workspaces.audit_harness import AppServer
from workspaces.models import Membership

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PASSWORD = "correct horse battery"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results" / "e2e"


@pytest.fixture(scope="package")
def server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[AppServer]:
    with django_db_blocker.unblock():
        app = AppServer(
            broker_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            log_path=tmp_path_factory.mktemp("e2e") / "app.log",
            env={"AUDIT_DELIVERY": "inline", "LOG_FORMAT": "text", "LOGIN_FAILURE_LIMIT": "1000"},
        )
        app.env["PUBLIC_BASE_URL"] = app.url
        app.start()
    yield app
    app.stop()


# Playwright's sync API runs an event loop in this thread while it is open: package scope closes
# it when the browser tests are done, so later asyncio tests get a thread without a loop.
@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    # While it is open the tests' own ORM calls (synchronous, in this thread) must be allowed.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as driver:
            yield driver
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium).")
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, server: AppServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    outside: list[str] = []

    def only_loopback(route, req) -> None:
        if urlparse(req.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(req.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm prompts: say yes
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / (re.sub(r"[^\w.-]+", "_", request.node.nodeid) + ".png")
        page.screenshot(path=str(shot), full_page=True)
        print(f"\nscreenshot of the failure: {shot}")
    context.close()
    assert outside == [], f"the page tried to reach outside loopback: {outside}"
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def with_password(membership: Membership) -> Membership:
    """The server process checks passwords with the production hashers; a cheap PBKDF2 keeps sign-in quick."""
    hasher = PBKDF2PasswordHasher()
    membership.user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    membership.user.save(update_fields=["password"])
    return membership


def sign_in(page: Page, membership: Membership) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(membership.user.get_username())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#user-menu summary")).to_have_text(membership.user.get_username())
