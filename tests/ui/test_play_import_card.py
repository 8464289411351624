"""The PlexSync page's *Plays from Plex* card (issue 26, docs/play-state.md) in headless
Chromium: the last import and the next, from the page's status answer; the empty state."""

from __future__ import annotations

import json
from pathlib import Path

from selenium.webdriver.chrome.webdriver import WebDriver

from plexsync.playstate.status import LAST_KEY
from plexsync.queue.job_queue import JobQueue
from plexsync.timer.state import IMPORT_DUE_KEY
from testkit.stash_ui import StashUI
from tests.ui.browser import assert_clean, block, figure, open_page, ps


def test_the_card_shows_the_last_import_and_the_next(browser: WebDriver,
                                                     tmp_path: Path) -> None:
    store = JobQueue.open(str(tmp_path))
    store.update_meta(lambda _m, _n: {
        LAST_KEY: json.dumps({"started_at": 1_780_000_000, "plays": 3, "resume_points": 1,
                              "ratings": 2, "scenes": 4}),
        IMPORT_DUE_KEY: repr(1_780_000_900.0)})
    store.close()
    with StashUI(str(tmp_path)) as ui:
        status = open_page(browser, ui)["status"]
        assert status["play_import"]["plays"] == 3
        assert (figure(browser, "play-import-plays"), figure(browser, "play-import-resume"),
                figure(browser, "play-import-ratings")) == ("3", "1", "2")
        assert "Next import" in ps(browser, "play-import-next").text
        assert ps(browser, "run-play-import").is_enabled()
        assert_clean(browser, ui)


def test_without_an_import_the_card_says_so(browser: WebDriver,
                                            tmp_path: Path) -> None:
    with StashUI(str(tmp_path)) as ui:
        open_page(browser, ui)
        text = block(browser, "play-import").text
        assert "No play-state import has run yet." in text
        assert "Automatic import is off" in text
        assert_clean(browser, ui)
