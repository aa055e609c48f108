"""Browser tests of mltrack's web UI: headless Debian Chromium driven by Playwright, against a
running ``mltrack server`` seeded through the unmodified ``mlflow`` client.

Environment:
  MLTRACK_URL               base URL of the server under test (required).
  MLTRACK_UI_SCREENSHOTS    where screenshots go (default: ui-screenshots/ in the repository).
  MLTRACK_UI_LABEL          a prefix for screenshot names (the backend, e.g. ``sqlite``).
  MLTRACK_CHROMIUM          the browser binary (default /usr/bin/chromium).
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

URL = os.environ.get("MLTRACK_URL", "").rstrip("/")
CHROMIUM = os.environ.get("MLTRACK_CHROMIUM", "/usr/bin/chromium")
SHOTS = pathlib.Path(
    os.environ.get("MLTRACK_UI_SCREENSHOTS")
    or pathlib.Path(__file__).resolve().parents[2] / "ui-screenshots"
)
LABEL = os.environ.get("MLTRACK_UI_LABEL", "ui")
# Playwright adds --headless itself; the rest keeps Chromium from reaching the network or needing
# a user namespace (the tests run as root in CI).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_configure(config):
    if not URL:
        raise pytest.UsageError("MLTRACK_URL is not set: point it at a running mltrack server")
    os.environ["MLFLOW_TRACKING_URI"] = URL
    for key, value in {
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
        "GIT_PYTHON_REFRESH": "quiet",
    }.items():
        os.environ.setdefault(key, value)
    SHOTS.mkdir(parents=True, exist_ok=True)
    # CI shares two cores with the build; give assertions the same slack as actions.
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def base_url() -> str:
    return URL


@pytest.fixture(scope="session")
def seeded():
    import seed

    return seed.seed()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _context(browser, js: bool):
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, java_script_enabled=js)
    ctx.set_default_timeout(15_000)
    return ctx


@pytest.fixture
def page(browser):
    ctx = _context(browser, True)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def nojs(browser):
    ctx = _context(browser, False)
    yield ctx.new_page()
    ctx.close()


@pytest.fixture
def shot(request):
    """``shot(page, "name")`` saves a full-page screenshot for review."""

    def take(pg, name: str):
        path = SHOTS / f"{LABEL}-{request.node.name}-{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        return path

    return take
