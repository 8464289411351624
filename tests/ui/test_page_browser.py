"""The PlexSync page (ui/plexsync.js) in headless Chromium against the Stash UI harness
(testkit/stash_ui.py), whose /graphql runs the real plugin for `runPluginOperation`.

The browser is Debian's `chromium` driven by Selenium through `chromium-driver` (.ci/run installs
both). Without them these tests skip, saying so, unless PLEXSYNC_REQUIRE_BROWSER=1 (set by CI),
which turns the skip into a failure.

PLEXSYNC_UPDATE_SCREENSHOT=1 writes the mixed-state screenshot to docs/img/plexsync-page.png
(otherwise it goes to the test's tmp folder, so a normal run leaves the checkout clean).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plexsync.tasks.page import record_result
from testkit.page_state import DEAD, TITLES, seed_mixed
from testkit.stash_ui import FakeJob, StashUI

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "img" / "plexsync-page.png"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WAIT = 20.0

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import Select
except ImportError:  # pragma: no cover - requirements-dev.txt installs it
    webdriver = None  # type: ignore[assignment]

HEALTH_FIX = "Start Plex Media Server, or correct plex_url (host and port, usually 32400)."
HEALTH_PROBLEM = ("Plex does not answer GET /identity at http://plex:32400 "
                  "(connection refused).")
HEALTH: dict[str, Any] = {"ok": False, "checks": [
    {"name": "settings", "ok": True, "problem": "", "fix": "", "info": "plex_url http://plex:32400"},
    {"name": "plex_reachable", "ok": False,
     "problem": HEALTH_PROBLEM, "fix": HEALTH_FIX},
]}


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    missing = [name for name, found in (("selenium", webdriver), ("chromium", CHROMIUM),
                                        ("chromedriver", CHROMEDRIVER)) if found is None]
    if missing:
        message = (f"browser test needs {', '.join(missing)} (apt-get install chromium "
                   "chromium-driver; pip install selenium)")
        if os.environ.get("PLEXSYNC_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1800", "--lang=en-US"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                               options=options)
    try:
        yield browser
    finally:
        browser.quit()


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


def open_page(browser: WebDriver, ui: StashUI) -> dict[str, Any]:
    """Open Stash's home, follow the nav link to the page, wait for the first status answer;
    returns the page_status JSON the plugin answered."""
    browser.get(ui.url + "/")
    wait_for(lambda: ps(browser, "nav-link"), "the PlexSync entry in the navigation bar").click()
    wait_for(lambda: browser.current_url.endswith("/plugins/plexsync"), "the page's route")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, '[data-ps-block="queue"]'),
             "the queue block")
    assert ui.operations, "the page rendered without asking the plugin"
    return ui.operations[-1]


def external_resources(browser: WebDriver, origin: str) -> list[str]:
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".concat(window.__cspViolations)")
    return [u for u in urls if not str(u).startswith(origin)]


def served_paths(ui: StashUI) -> set[str]:
    return {path.split("?", 1)[0] for _, path in ui.requests}


def test_mixed_state_figures_match_the_status_json(driver: WebDriver, tmp_path: Path) -> None:
    seeded = seed_mixed(str(tmp_path), time.time())
    record_result(str(tmp_path), "health_check", "an-earlier-run", output=HEALTH)
    with StashUI(str(tmp_path), titles=TITLES) as ui:
        answer = open_page(driver, ui)
        status = answer["status"]
        assert (status["synced"], status["retrying"], status["pending"], status["dlq"]) == (
            5, 3, 2, 5)
        for key in ("pending", "in_progress", "retrying", "dlq", "synced", "out_of_scope"):
            assert figure(driver, key) == str(status[key]), key
        assert figure(driver, "circuit") == status["circuit"]
        by_class = {row.get_attribute("data-ps-class"): ps(row, "count").text
                    for row in block(driver, "dlq").find_elements(By.CSS_SELECTOR,
                                                                  "[data-ps-class]")}
        assert by_class == {k: str(v) for k, v in status["dlq_by_error"].items()}
        assert set(by_class) == {"LowConfidence", "PlexBadRequest", "PlexNotFound"}
        # Newest dead letters: newest first, title linked to the scene, error, candidates.
        wait_for(lambda: ps(driver, "dlq-newest").find_elements(By.LINK_TEXT, TITLES[403]),
                 "scene titles from findScenes")
        rows = ps(driver, "dlq-newest").find_elements(By.CSS_SELECTOR, "[data-ps-scene]")
        assert [int(str(r.get_attribute("data-ps-scene"))) for r in rows] == [
            d["scene_id"] for d in answer["dlq_newest"]] == sorted(DEAD, reverse=True)
        for row in rows:
            scene_id = int(str(row.get_attribute("data-ps-scene")))
            cls, message, candidates = DEAD[scene_id]
            link = ps(row, "scene-link")
            assert link.text == TITLES.get(scene_id, f"scene-{scene_id}.mp4")
            assert str(link.get_attribute("href")).endswith(f"/scenes/{scene_id}")
            assert (ps(row, "class").text, ps(row, "message").text) == (cls.value, message)
            assert [li.text for li in ps(row, "candidates").find_elements(By.TAG_NAME, "li")
                    ] == list(candidates)
        assert ps(driver, "last-sync").find_element(By.TAG_NAME, "time").get_attribute(
            "title") == status["last_sync_at"]
        assert "Not armed" in ps(driver, "timer").text and status["timer"] is None
        # The last Health Check (run before the page opened) is shown with its fixes.
        problems = [ps(c, "fix").text for c in ps(driver, "health-checks").find_elements(
            By.CSS_SELECTOR, ".plexsync-problem")]
        assert problems == ["Fix: " + HEALTH_FIX]
        check_reconcile_block(driver, status, "reconcile" not in seeded.missing)
        check_outage_block(driver, answer, "outages" not in seeded.missing)
        assert external_resources(driver, ui.url) == []
        assert served_paths(ui) <= {"/", "/plugins/plexsync", "/graphql", "/favicon.ico",
                                    "/harness/harness.css", "/harness/pluginapi.js",
                                    "/harness/react.production.min.js",
                                    "/harness/react-dom.production.min.js",
                                    "/plugin/PlexSync/javascript", "/plugin/PlexSync/css"}
        target = SCREENSHOT if os.environ.get("PLEXSYNC_UPDATE_SCREENSHOT") == "1" else (
            tmp_path / "plexsync-page.png")
        target.parent.mkdir(parents=True, exist_ok=True)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, int(height) + 90)   # the window's frame is not viewport
        assert driver.save_screenshot(str(target))


def check_reconcile_block(browser: WebDriver, status: dict[str, Any], seeded: bool) -> None:
    rec = status.get("reconcile") or {}
    history = rec.get("history") or []
    if seeded:  # the data dir holds two runs: the JSON must carry them
        assert len(history) == 2, rec
    if not history:
        assert "No reconciliation has run yet." in block(browser, "reconcile").text
        return
    rows = ps(browser, "reconcile-history").find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == len(history)
    for kind, count in (rec.get("gaps_by_type") or {}).items():
        assert figure(browser, f"gap-{kind}") == str(count)
    first = rows[0].find_elements(By.TAG_NAME, "td")
    assert (first[1].text, first[3].text) == (str(history[0]["scope"]),
                                              str(history[0]["scanned"]))


def check_outage_block(browser: WebDriver, answer: dict[str, Any], seeded: bool) -> None:
    outages = answer["status"].get("outages") or {}
    history = answer.get("outage_history") or []
    if seeded:  # three finished outages in a day of watching
        assert outages.get("count") == 3 and len(history) == 3, (outages, history)
    assert figure(browser, "outage_count") == str(outages.get("count", "n/a"))
    availability = outages.get("availability")
    assert figure(browser, "availability") == (
        "n/a" if availability is None else f"{availability * 100:.3f}%")
    if not history:
        assert "No Plex outage recorded." in block(browser, "plex").text
        return
    bars = ps(browser, "outage-timeline").find_elements(By.CLASS_NAME, "plexsync-outage")
    assert len(bars) == len(history[:30])
    rows = ps(browser, "outage-list").find_elements(By.CSS_SELECTOR, "tbody tr")
    # Newest first, each with its start (the <time> title is the ISO time) and jobs affected.
    assert [r.find_element(By.TAG_NAME, "time").get_attribute("title") for r in rows] == [
        o["start"] for o in history[:30]]
    assert [r.find_elements(By.TAG_NAME, "td")[3].text for r in rows] == [
        str(o["jobs_affected"]) for o in history[:30]]


def test_each_button_sends_its_task_and_the_page_follows_the_job(
    driver: WebDriver, tmp_path: Path
) -> None:
    seed_mixed(str(tmp_path), time.time())

    def finish(job: FakeJob) -> None:   # stands in for the task the job ran (router records it)
        if job.task_name == "Health Check":
            record_result(str(tmp_path), "health_check", job.args_map["ui_request"],
                          output=HEALTH)

    with StashUI(str(tmp_path), titles=TITLES, on_finish=finish) as ui:
        open_page(driver, ui)

        def click_and_follow(button: WebElement) -> FakeJob:
            sent = len(ui.tasks)
            button.click()
            wait_for(lambda: len(ui.tasks) == sent + 1, "the runPluginTask mutation")
            wait_for(lambda: ps(driver, "job-status").text == "FINISHED", "the job to finish")
            assert wait_for(lambda: ps(driver, "run-process").is_enabled(), "buttons back")
            return ui.tasks[-1]

        job = click_and_follow(ps(driver, "run-process"))
        assert job.task_name == "Process Queue" and set(job.args_map) == {"ui_request"}
        assert job.polls >= 3   # READY, RUNNING, FINISHED: the page followed it through findJob
        low = block(driver, "dlq").find_element(By.CSS_SELECTOR,
                                                '[data-ps-class="LowConfidence"]')
        job = click_and_follow(ps(low, "run-recover"))
        assert job.task_name == "Recover DLQ Jobs"
        assert job.args_map["error_types"] == "LowConfidence"
        Select(ps(driver, "reconcile-scope")).select_by_value("7days")
        job = click_and_follow(ps(driver, "run-reconcile"))
        assert job.task_name == "Reconcile Library (Last 7 Days)"
        job = click_and_follow(ps(driver, "run-health"))
        assert job.task_name == "Health Check"
        checks = wait_for(lambda: ps(driver, "health-checks").find_elements(
            By.CSS_SELECTOR, "[data-ps-check]"), "the Health Check result")
        assert [c.get_attribute("data-ps-check") for c in checks] == [
            "settings", "plex_reachable"]
        bad = checks[1]
        assert ps(bad, "problem").text == HEALTH_PROBLEM
        assert ps(bad, "fix").text == "Fix: " + HEALTH_FIX
        assert external_resources(driver, ui.url) == []


def test_empty_state_renders_zeros_and_says_what_is_missing(
    driver: WebDriver, tmp_path: Path
) -> None:
    with StashUI(str(tmp_path)) as ui:
        status = open_page(driver, ui)["status"]
        for key in ("pending", "retrying", "dlq", "synced"):
            assert figure(driver, key) == "0" == str(status[key])
        assert "No dead-lettered jobs." in block(driver, "dlq").text
        assert not driver.find_elements(By.CSS_SELECTOR, '[data-ps="dlq-newest"]')
        assert "No reconciliation has run yet." in block(driver, "reconcile").text
        assert "No Plex outage recorded." in block(driver, "plex").text
        assert "never" in ps(driver, "last-sync").text
        assert "Not armed" in ps(driver, "timer").text
        assert figure(driver, "availability") == "n/a"


def test_plex_down_page_still_answers_and_shows_the_outage(
    driver: WebDriver, tmp_path: Path
) -> None:
    seeded = seed_mixed(str(tmp_path), time.time(), plex_down=True)
    with StashUI(str(tmp_path), titles=TITLES) as ui:
        answer = open_page(driver, ui)
        status = answer["status"]
        assert figure(driver, "retrying") == str(status["retrying"]) == "3"
        assert figure(driver, "circuit") == status["circuit"]
        assert "outages" not in seeded.missing and status["circuit"] == "open"
        ongoing = status["outages"]["ongoing"]
        text = ps(driver, "ongoing").text
        assert "Plex is down since" in text and f"{ongoing['jobs_affected']} job(s)" in text
        assert ps(driver, "ongoing").find_element(By.TAG_NAME, "time").get_attribute(
            "title") == ongoing["start"]
        # The timeline: the three finished outages plus the ongoing one, drawn as such.
        bars = ps(driver, "outage-timeline").find_elements(By.CLASS_NAME, "plexsync-outage")
        assert len(bars) == len(answer["outage_history"]) + 1 == 4
        assert len(ps(driver, "outage-timeline").find_elements(
            By.CLASS_NAME, "plexsync-ongoing")) == 1
        first = ps(driver, "outage-list").find_element(By.CSS_SELECTOR, "tbody tr")
        assert first.find_elements(By.TAG_NAME, "td")[1].text == "ongoing"


def test_a_failing_status_operation_shows_its_error_and_keeps_polling(
    driver: WebDriver, tmp_path: Path
) -> None:
    with StashUI(str(tmp_path), fail_operations="plugin PlexSync is disabled") as ui:
        driver.get(ui.url + "/plugins/plexsync")
        error = wait_for(lambda: ps(driver, "error"), "the error banner")
        assert "plugin PlexSync is disabled" in error.text
        ui.fail_operations = None
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, '[data-ps-block="queue"]'),
                 "the page after the next poll")
        assert not driver.find_elements(By.CSS_SELECTOR, '[data-ps="error"]')
