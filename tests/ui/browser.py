"""Helpers for the PlexSync page's browser tests (tests/ui/): the page inside Stash's real
frontend, served by the Stash UI test server (testkit/stash_ui.py), in headless Chromium.

The browser is Debian's `chromium` driven by Selenium through `chromium-driver` (.ci/run
installs both). Without them, or without Stash's frontend build (`../shared/stash-ui/build`),
the tests skip, saying so, unless PLEXSYNC_REQUIRE_BROWSER=1 (set by CI), which turns the skip
into a failure. The fixtures (`driver`, `browser`) are in tests/ui/conftest.py.

PLEXSYNC_UPDATE_SCREENSHOT=1 writes the screenshots to docs/img/; otherwise they go to the
test's tmp folder.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from testkit.page_state import DEAD, TITLES
from testkit.stash_ui import BUILD_DIR, StashUI

__all__ = ["BUILD_DIR", "By", "Service", "WebDriver", "WebElement", "webdriver"]

ROOT = Path(__file__).resolve().parents[2]
IMG = ROOT / "docs" / "img"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WAIT = 30.0
DESKTOP = (1400, 1000)
PHONE = (420, 900)
# Runs before any of the page's scripts: records every CSP violation the page sees.
CSP_WATCH = """window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.blockedURI + " " + e.violatedDirective);
});"""


def need(what: str) -> None:
    if os.environ.get("PLEXSYNC_REQUIRE_BROWSER") == "1":
        pytest.fail(what)
    pytest.skip(what)


def console_log(browser: WebDriver) -> list[dict[str, Any]]:
    """The console entries since the last call (chromedriver's `goog:loggingPrefs` log)."""
    entries: list[dict[str, Any]] = browser.execute("getLog", {"type": "browser"})["value"]
    return entries


def stash(data_dir: Path, **options: Any) -> StashUI:
    """A Stash UI server whose library holds scenes 1..405 (the seeded dead letters' scenes
    among them, titled as testkit.page_state.TITLES says; 405 has no title)."""
    ui = StashUI(str(data_dir), **options)
    for scene_id in range(1, max(DEAD) + 1):
        ui.add_scene(title=TITLES.get(scene_id, ""), files=[{
            "path": f"/media/videos/scene-{scene_id}.mp4", "size": 1000, "duration": 60}])
    return ui


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except WebDriverException as exc:   # element not there yet / went stale
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f" ({last})" if last else ""))


def ps(scope: WebDriver | WebElement, name: str) -> WebElement:
    return scope.find_element(By.CSS_SELECTOR, f'[data-ps="{name}"]')


def block(browser: WebDriver, name: str) -> WebElement:
    return browser.find_element(By.CSS_SELECTOR, f'[data-ps-block="{name}"]')


def figure(browser: WebDriver, name: str) -> str:
    return str(ps(browser, name).find_element(By.CLASS_NAME, "plexsync-figure-value").text)


def page_shown(browser: WebDriver) -> Any:
    return browser.find_elements(By.CSS_SELECTOR, '[data-ps-block="queue"]')


def boot(browser: WebDriver, url: str) -> None:
    """Load a URL and wait until Stash's frontend has rendered its navigation bar."""
    browser.get(url)
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".top-nav .navbar-brand"),
             "Stash's navigation bar")


def open_page(browser: WebDriver, ui: StashUI) -> dict[str, Any]:
    """Boot Stash's home, follow the PlexSync entry (a client-side route change: the document
    is not reloaded) and wait for the first status answer; returns that answer."""
    boot(browser, ui.ui_url + "/")
    browser.execute_script("window.__sameDocument = true;")
    wait_for(lambda: ps(browser, "nav-link"), "the PlexSync entry in the navigation bar").click()
    wait_for(lambda: browser.current_url == ui.ui_url + "/plugins/plexsync", "the page's route")
    wait_for(lambda: page_shown(browser), "the queue block")
    assert browser.execute_script("return window.__sameDocument === true;"), (
        "following the entry reloaded the document")
    assert ui.operations, "the page rendered without asking the plugin"
    return dict(ui.operations[-1])


def assert_clean(browser: WebDriver, ui: StashUI, *, failing: tuple[str, ...] = ()) -> None:
    """No console error, no CSP violation, nothing from another origin, and no GraphQL request
    (the frontend's, the page's or the plugin's) that Stash's schema or the fake refused, but
    the operations named in `failing`."""
    errors = [e["message"] for e in console_log(browser) if e["level"] == "SEVERE"]
    assert errors == [], errors
    refused = [(r.name, r.errors) for r in ui.requests if r.errors and r.name not in failing]
    assert refused == [], refused
    origin = ui.ui_url.split("/", 3)[:3]
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert [u for u in urls if str(u).split("/", 3)[:3] != origin] == []
    assert browser.execute_script("return window.__cspViolations") == []


def screenshot(browser: WebDriver, tmp_path: Path, name: str, width: int,
               whole: bool = True) -> None:
    """The window's view, or (`whole`) the whole page at `width`: the window grows until the
    document fits in it."""
    target = IMG / name if os.environ.get("PLEXSYNC_UPDATE_SCREENSHOT") == "1" else (
        tmp_path / name)
    target.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3 if whole else 0):
        missing = browser.execute_script(
            "return document.documentElement.scrollHeight - window.innerHeight")
        if int(missing) <= 0:
            break
        browser.set_window_size(width, browser.get_window_size()["height"] + int(missing))
    assert browser.save_screenshot(str(target))
