"""The PlexSync page (ui/plexsync.js) inside Stash's real frontend, in headless Chromium.

Each test boots Stash's own v0.30.1 build (`../shared/stash-ui/build`) from the Stash UI test
server (testkit/stash_ui.py), which serves it as Stash's Go server does, loads the plugin's UI
files the way Stash loads them, answers GraphQL on Stash's real schema and runs the real plugin
for `runPluginOperation` and for the tasks the buttons queue. Every test ends by checking that
the browser logged no console error, saw no Content-Security-Policy violation and loaded
nothing from another origin.

The browser is Debian's `chromium` driven by Selenium through `chromium-driver` (.ci/run
installs both). Without them these tests skip, saying so, unless PLEXSYNC_REQUIRE_BROWSER=1
(set by CI), which turns the skip into a failure; a missing Stash build fails them likewise.

PLEXSYNC_UPDATE_SCREENSHOT=1 writes the screenshots to docs/img/ (desktop: plexsync-page.png,
phone: plexsync-page-phone.png); otherwise they go to the test's tmp folder.
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
from testkit.stash_ui import BUILD_DIR, StashUI

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

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import Select
except ImportError:  # pragma: no cover - requirements-dev.txt installs it
    webdriver = None  # type: ignore[assignment]

HEALTH_FIX = "Start Plex Media Server, or correct plex_url (host and port, usually 32400)."
HEALTH: dict[str, Any] = {"ok": False, "checks": [
    {"name": "settings", "ok": True, "problem": "", "fix": "", "info": "plex_url http://plex:32400"},
    {"name": "plex_reachable", "ok": False, "fix": HEALTH_FIX,
     "problem": "Plex does not answer GET /identity at http://plex:32400 (connection refused)."},
]}


def _need(what: str) -> None:
    if os.environ.get("PLEXSYNC_REQUIRE_BROWSER") == "1":
        pytest.fail(what)
    pytest.skip(what)


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    missing = [name for name, found in (("selenium", webdriver), ("chromium", CHROMIUM),
                                        ("chromedriver", CHROMEDRIVER)) if found is None]
    if missing:
        _need(f"browser test needs {', '.join(missing)} (apt-get install chromium "
              "chromium-driver; pip install selenium)")
    if not (BUILD_DIR / "index.html").is_file():
        _need(f"Stash's frontend build is not at {BUILD_DIR} (CI has it beside the repository)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={DESKTOP[0]},{DESKTOP[1]}", "--lang=en-US"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                               options=options)
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_WATCH})
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def browser(driver: WebDriver) -> Iterator[WebDriver]:
    """The shared browser at desktop size with an empty console log."""
    driver.set_window_size(*DESKTOP)
    console_log(driver)
    yield driver
    driver.get("about:blank")   # stop polling before the test's server goes away


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


def assert_clean(browser: WebDriver, ui: StashUI) -> None:
    """No console error, no CSP violation, nothing from another origin."""
    errors = [e["message"] for e in console_log(browser) if e["level"] == "SEVERE"]
    assert errors == [], errors
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


# ---------------------------------------------------------------------- the page's content


def test_mixed_state_figures_match_the_status_json(browser: WebDriver, tmp_path: Path) -> None:
    seeded = seed_mixed(str(tmp_path), time.time())
    record_result(str(tmp_path), "health_check", "an-earlier-run", output=HEALTH)
    with stash(tmp_path) as ui:
        answer = open_page(browser, ui)
        status = answer["status"]
        assert (status["synced"], status["retrying"], status["pending"], status["dlq"]) == (
            5, 3, 2, 5)
        for key in ("pending", "in_progress", "retrying", "dlq", "synced", "out_of_scope"):
            assert figure(browser, key) == str(status[key]), key
        assert figure(browser, "circuit") == status["circuit"]
        by_class = {row.get_attribute("data-ps-class"): ps(row, "count").text
                    for row in block(browser, "dlq").find_elements(By.CSS_SELECTOR,
                                                                   "[data-ps-class]")}
        assert by_class == {k: str(v) for k, v in status["dlq_by_error"].items()}
        assert set(by_class) == {"LowConfidence", "PlexBadRequest", "PlexNotFound"}
        # Newest dead letters: newest first, title linked to the scene, error, candidates.
        wait_for(lambda: ps(browser, "dlq-newest").find_elements(By.LINK_TEXT, TITLES[403]),
                 "scene titles from findScenes")
        rows = ps(browser, "dlq-newest").find_elements(By.CSS_SELECTOR, "[data-ps-scene]")
        assert [int(str(r.get_attribute("data-ps-scene"))) for r in rows] == [
            d["scene_id"] for d in answer["dlq_newest"]] == sorted(DEAD, reverse=True)
        for row in rows:
            scene_id = int(str(row.get_attribute("data-ps-scene")))
            cls, message, candidates = DEAD[scene_id]
            link = ps(row, "scene-link")
            assert link.text == TITLES.get(scene_id, f"scene-{scene_id}.mp4")
            assert link.get_attribute("href") == f"{ui.ui_url}/scenes/{scene_id}"
            assert (ps(row, "class").text, ps(row, "message").text) == (cls.value, message)
            assert [li.text for li in ps(row, "candidates").find_elements(By.TAG_NAME, "li")
                    ] == list(candidates)
        assert ps(browser, "last-sync").find_element(By.TAG_NAME, "time").get_attribute(
            "title") == status["last_sync_at"]
        assert "Not armed" in ps(browser, "timer").text and status["timer"] is None
        # The last Health Check (run before the page opened) is shown with its fixes.
        problems = [ps(c, "fix").text for c in ps(browser, "health-checks").find_elements(
            By.CSS_SELECTOR, ".plexsync-problem")]
        assert problems == ["Fix: " + HEALTH_FIX]
        check_reconcile_block(browser, status, "reconcile" not in seeded.missing)
        check_outage_block(browser, answer, "outages" not in seeded.missing)
        assert_clean(browser, ui)
        screenshot(browser, tmp_path, "plexsync-page.png", DESKTOP[0])


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


def test_empty_state_renders_zeros_and_says_what_is_missing(
    browser: WebDriver, tmp_path: Path
) -> None:
    with StashUI(str(tmp_path)) as ui:
        status = open_page(browser, ui)["status"]
        for key in ("pending", "retrying", "dlq", "synced"):
            assert figure(browser, key) == "0" == str(status[key])
        assert "No dead-lettered jobs." in block(browser, "dlq").text
        assert not browser.find_elements(By.CSS_SELECTOR, '[data-ps="dlq-newest"]')
        assert "No reconciliation has run yet." in block(browser, "reconcile").text
        assert "No Plex outage recorded." in block(browser, "plex").text
        assert "never" in ps(browser, "last-sync").text
        assert "Not armed" in ps(browser, "timer").text
        assert figure(browser, "availability") == "n/a"
        assert_clean(browser, ui)


def test_plex_down_page_still_answers_and_shows_the_outage(
    browser: WebDriver, tmp_path: Path
) -> None:
    seeded = seed_mixed(str(tmp_path), time.time(), plex_down=True)
    with stash(tmp_path) as ui:
        answer = open_page(browser, ui)
        status = answer["status"]
        assert figure(browser, "retrying") == str(status["retrying"]) == "3"
        assert "outages" not in seeded.missing and status["circuit"] == "open"
        assert figure(browser, "circuit") == "open"
        ongoing = status["outages"]["ongoing"]
        text = ps(browser, "ongoing").text
        assert "Plex is down since" in text and f"{ongoing['jobs_affected']} job(s)" in text
        assert ps(browser, "ongoing").find_element(By.TAG_NAME, "time").get_attribute(
            "title") == ongoing["start"]
        # The timeline: the three finished outages plus the ongoing one, drawn as such.
        bars = ps(browser, "outage-timeline").find_elements(By.CLASS_NAME, "plexsync-outage")
        assert len(bars) == len(answer["outage_history"]) + 1 == 4
        assert len(ps(browser, "outage-timeline").find_elements(
            By.CLASS_NAME, "plexsync-ongoing")) == 1
        first = ps(browser, "outage-list").find_element(By.CSS_SELECTOR, "tbody tr")
        assert first.find_elements(By.TAG_NAME, "td")[1].text == "ongoing"
        assert_clean(browser, ui)


def test_a_failing_status_operation_shows_its_error_and_keeps_polling(
    browser: WebDriver, tmp_path: Path
) -> None:
    with StashUI(str(tmp_path)) as ui:
        ui.fail_operations = "PlexSync could not open its data directory"
        boot(browser, ui.ui_url + "/plugins/plexsync")
        error = wait_for(lambda: ps(browser, "error"), "the error banner")
        assert "PlexSync could not open its data directory" in error.text
        ui.fail_operations = None
        wait_for(lambda: page_shown(browser), "the page after the next poll")
        assert not browser.find_elements(By.CSS_SELECTOR, '[data-ps="error"]')
        # the failed answer was a GraphQL error, which Stash's client does not log: clean
        assert_clean(browser, ui)


# ---------------------------------------------------------------------- buttons and jobs


def test_each_button_runs_its_task_and_the_page_follows_the_job_to_its_end(
    browser: WebDriver, tmp_path: Path
) -> None:
    seed_mixed(str(tmp_path), time.time())
    with stash(tmp_path) as ui:
        # Plex is configured but not running: Health Check finds that and says how to fix it.
        ui.plugin_config["PlexSync"] = {"plex_url": "http://127.0.0.1:9", "plex_token": "t"}
        open_page(browser, ui)

        def click_and_follow(button: WebElement, *, exit_code: int = 0) -> Any:
            sent = len(ui.jobs.by_id)
            button.click()
            wait_for(lambda: len(ui.jobs.by_id) == sent + 1, "the runPluginTask mutation")
            wait_for(lambda: ps(browser, "job-status").text == "FINISHED", "the job's end")
            job = list(ui.jobs.by_id.values())[-1]
            assert job.status == "FINISHED" and job.returncode == exit_code, job.stderr
            assert set(job.args) >= {"ui_request"}
            wait_for(lambda: ps(browser, "run-process").is_enabled(), "the buttons back")
            return job

        job = click_and_follow(ps(browser, "run-process"))
        assert job.task_name == "Process Queue"
        low = block(browser, "dlq").find_element(By.CSS_SELECTOR,
                                                 '[data-ps-class="LowConfidence"]')
        job = click_and_follow(ps(low, "run-recover"))
        assert job.task_name == "Recover DLQ Jobs"
        assert job.args["error_types"] == "LowConfidence"
        Select(ps(browser, "reconcile-scope")).select_by_value("7days")
        job = click_and_follow(ps(browser, "run-reconcile"), exit_code=1)
        assert job.task_name == "Reconcile Library (Last 7 Days)"
        # Reconciling needs Plex: the job ends (FINISHED, as Stash ends every plugin job) and
        # the page shows the task's own error, which Stash only logs.
        assert "cannot connect to Plex at http://127.0.0.1:9" in wait_for(
            lambda: ps(browser, "job-error"), "the task's error").text
        job = click_and_follow(ps(browser, "run-play-import"), exit_code=1)
        assert job.task_name == "Import Plex Play State"
        assert "cannot connect to Plex" in wait_for(
            lambda: ps(browser, "job-error"), "the task's error").text
        job = click_and_follow(ps(browser, "run-health"))
        assert job.task_name == "Health Check"
        checks = wait_for(lambda: ps(browser, "health").find_elements(
            By.CSS_SELECTOR, "[data-ps-check]"), "the Health Check result")
        names = [c.get_attribute("data-ps-check") for c in checks]
        assert names == [c["name"] for c in job.answer["output"]["checks"]]
        reach = checks[names.index("plex_reachable")]
        assert "http://127.0.0.1:9" in ps(reach, "problem").text
        assert ps(reach, "fix").text == "Fix: " + HEALTH_FIX
        assert "plexsync-ok" in str(checks[names.index("stash_version")].get_attribute("class"))
        # Stash's own job list saw every job come and go over the websocket.
        assert ui.subscriptions.accepted.count("jobsSubscribe") >= 1
        assert_clean(browser, ui)


def test_a_scene_link_opens_the_scene_in_stash(browser: WebDriver, tmp_path: Path) -> None:
    seed_mixed(str(tmp_path), time.time())
    with stash(tmp_path) as ui:
        open_page(browser, ui)
        link = wait_for(lambda: ps(browser, "dlq-newest").find_element(
            By.LINK_TEXT, TITLES[403]), "the scene's title")
        assert_clean(browser, ui)
        link.click()
        wait_for(lambda: browser.current_url == f"{ui.ui_url}/scenes/403", "the scene route")
        wait_for(lambda: TITLES[403] in browser.find_element(By.CSS_SELECTOR,
                                                             ".scene-header").text,
                 "Stash's scene page with the scene's title")
        assert browser.execute_script("return window.__sameDocument === true;")
        # Not checked past this point: Stash's own scene player loads Google's Cast script
        # (its CSP allows www.gstatic.com) and the scene's media, which the fake does not serve.


# ---------------------------------------------------------------------- proxy, phone, theme


def test_under_a_stash_prefix_the_page_answers_by_direct_load_and_by_the_entry(
    browser: WebDriver, tmp_path: Path
) -> None:
    seed_mixed(str(tmp_path), time.time())
    with stash(tmp_path, prefix="/stash") as ui:
        assert ui.ui_url.endswith("/stash")
        boot(browser, ui.ui_url + "/plugins/plexsync")
        wait_for(lambda: page_shown(browser) or browser.find_elements(
            By.CSS_SELECTOR, '[data-ps="error"]'), "the page's first answer")
        assert not browser.find_elements(By.CSS_SELECTOR, '[data-ps="error"]'), ps(
            browser, "error").text
        assert figure(browser, "dlq") == "5"
        link = wait_for(lambda: ps(browser, "dlq-newest").find_element(
            By.LINK_TEXT, TITLES[401]), "the scene titles")
        assert link.get_attribute("href") == f"{ui.ui_url}/scenes/401"
        assert_clean(browser, ui)
        open_page(browser, ui)   # from Stash's home, through the entry
        assert figure(browser, "dlq") == "5"
        ps(browser, "run-health").click()   # a task queued and followed through the proxy
        wait_for(lambda: ps(browser, "job-status").text == "FINISHED", "the job's end")
        wait_for(lambda: ps(browser, "health").find_elements(By.CSS_SELECTOR, "[data-ps-check]"),
                 "the Health Check result")
        assert [j.task_name for j in ui.jobs.by_id.values()] == ["Health Check"]
        assert all(p.startswith("/stash/") for p in ui.browser_paths), ui.browser_paths
        assert_clean(browser, ui)


def test_on_a_phone_the_entry_closes_the_menu_and_looks_like_stashs(
    browser: WebDriver, tmp_path: Path
) -> None:
    seed_mixed(str(tmp_path), time.time())
    with stash(tmp_path) as ui:
        browser.set_window_size(*PHONE)
        boot(browser, ui.ui_url + "/")

        def open_menu() -> WebElement:
            browser.find_element(By.CSS_SELECTOR, ".nav-menu-toggle").click()
            menu: WebElement = wait_for(lambda: browser.find_element(
                By.CSS_SELECTOR, ".navbar-collapse.show"), "the menu")
            return menu

        def menu_closed() -> bool:   # and done collapsing (Bootstrap animates it)
            return not browser.find_elements(
                By.CSS_SELECTOR, ".navbar-collapse.show, .navbar-collapse.collapsing")

        entry = wait_for(lambda: open_menu().find_element(
            By.CSS_SELECTOR, 'a[href="/plugins/plexsync"]'), "the PlexSync entry")
        wait_for(lambda: not browser.find_elements(By.CSS_SELECTOR, ".navbar-collapse.collapsing"),
                 "the menu to finish opening")
        screenshot(browser, tmp_path, "plexsync-menu-phone.png", PHONE[0], whole=False)
        browser.execute_script("window.__sameDocument = true;")
        entry.click()
        wait_for(lambda: browser.current_url == ui.ui_url + "/plugins/plexsync", "the route")
        wait_for(lambda: page_shown(browser), "the page")
        wait_for(menu_closed, "the menu to close, as it does after Stash's own entries")
        assert browser.execute_script("return window.__sameDocument === true;")
        # Built like Stash's own entries: an icon above the label, the same box in the grid
        # (compared with Tags, Stash's last entry, which shares its row).
        menu = open_menu()
        entry = menu.find_element(By.CSS_SELECTOR, 'a[href="/plugins/plexsync"]')
        tags = menu.find_element(By.CSS_SELECTOR, 'a[href="/tags"]')
        assert entry.find_elements(By.CSS_SELECTOR, "svg.nav-menu-icon"), "no icon"
        parent = "./.."
        for mine, theirs in ((entry.rect, tags.rect), (
                entry.find_element(By.XPATH, parent).rect, tags.find_element(By.XPATH,
                                                                             parent).rect)):
            assert (mine["width"], mine["height"], mine["y"]) == (
                theirs["width"], theirs["height"], theirs["y"]), (mine, theirs)
        browser.find_element(By.CSS_SELECTOR, ".nav-menu-toggle").click()
        wait_for(menu_closed, "the menu to close")
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"), (
            "the page is wider than the phone's screen")
        assert_clean(browser, ui)
        screenshot(browser, tmp_path, "plexsync-page-phone.png", PHONE[0])


def test_the_scope_select_uses_stashs_dark_input_style(browser: WebDriver, tmp_path: Path
                                                       ) -> None:
    with StashUI(str(tmp_path)) as ui:
        open_page(browser, ui)
        select = ps(browser, "reconcile-scope")
        assert "input-control" in str(select.get_attribute("class")).split()
        background = select.value_of_css_property("background-color")
        assert background not in ("rgba(255, 255, 255, 1)", "rgb(255, 255, 255)"), background
        assert_clean(browser, ui)


# ---------------------------------------------------------------------- a disabled plugin


def test_a_disabled_plugin_loads_nothing_and_the_docs_say_so(
    browser: WebDriver, tmp_path: Path
) -> None:
    with StashUI(str(tmp_path), plugin_enabled=False) as ui:
        boot(browser, ui.ui_url + "/plugins/plexsync")
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".main"), "Stash's main area")
        assert not browser.find_elements(By.CSS_SELECTOR, '[data-ps="nav-entry"]')
        assert not browser.find_elements(By.CSS_SELECTOR, '[data-ps="page"]')
        assert not [p for p in ui.browser_paths if p.startswith("/plugin/")]
        assert ui.operations == []
        assert_clean(browser, ui)
    doc = (ROOT / "docs" / "ui.md").read_text(encoding="utf-8")
    assert "red banner" not in doc
    assert "Stash does not load a disabled plugin's JavaScript" in doc
