"""The PlexSync page's content, buttons and links inside Stash's real frontend (v0.30.1, from
`../shared/stash-ui/build`), in headless Chromium (tests/ui/browser.py).

Each test boots Stash's own frontend from the Stash UI test server (testkit/stash_ui.py), which
serves it as Stash's Go server does, loads the plugin's UI files the way Stash loads them,
answers GraphQL on Stash's real schema and runs the real plugin for `runPluginOperation` and
for the tasks the buttons queue. Every test checks that the browser logged no console error,
saw no Content-Security-Policy violation and loaded nothing from another origin.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from selenium.webdriver.support.ui import Select

from plexsync.tasks.page import record_result
from testkit.page_state import DEAD, TITLES, seed_mixed
from testkit.stash_ui import StashUI
from tests.ui.browser import (
    DESKTOP,
    By,
    WebDriver,
    WebElement,
    assert_clean,
    block,
    boot,
    figure,
    open_page,
    page_shown,
    ps,
    screenshot,
    stash,
    wait_for,
)

HEALTH_FIX = "Start Plex Media Server, or correct plex_url (host and port, usually 32400)."
HEALTH: dict[str, Any] = {"ok": False, "checks": [
    {"name": "settings", "ok": True, "problem": "", "fix": "", "info": "plex_url http://plex:32400"},
    {"name": "plex_reachable", "ok": False, "fix": HEALTH_FIX,
     "problem": "Plex does not answer GET /identity at http://plex:32400 (connection refused)."},
]}


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
        assert_clean(browser, ui, failing=("PlexSyncPageStatus",))


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
        answered = job.answer["output"]["checks"][names.index("plex_reachable")]
        assert answered["fix"].startswith("Start Plex Media Server")
        assert ps(reach, "fix").text == "Fix: " + answered["fix"]
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
