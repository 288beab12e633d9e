"""Real-browser tests: headless Chromium through the DevTools protocol (see devtools.py).

Without Chromium the tests skip and say why — unless ``SAGEDROP_REQUIRE_BROWSER=1`` (CI), where a
missing browser is a failure, so CI cannot pass by skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.devtools import Browser, find_chromium

REPOSITORY = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: opens pages in headless Chromium (needs the chromium package)")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    found = find_chromium()
    if found is None:
        reason = "chromium is not installed (Debian: apt-get install chromium; or set SAGEDROP_CHROMIUM)"
        if os.environ.get("SAGEDROP_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " and SAGEDROP_REQUIRE_BROWSER=1")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    opened = Browser(chromium_path)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where screenshots go: ``$SAGEDROP_SCREENSHOT_DIR``, else out/browser-screenshots (a CI artifact)."""
    configured = os.environ.get("SAGEDROP_SCREENSHOT_DIR")
    directory = Path(configured) if configured else REPOSITORY / "out" / "browser-screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory
