"""The PlexSync page's *Plays from Plex* card (issue 26, docs/play-state.md) in headless
Chromium: the last import and the next, from the page's status answer; the empty state."""

from __future__ import annotations

import json
from pathlib import Path

from selenium.webdriver.remote.webdriver import WebDriver

from plexsync.playstate.status import LAST_KEY
from plexsync.queue.sqlite_store import SQLiteStore
from plexsync.timer.state import IMPORT_DUE_KEY
from testkit.stash_ui import StashUI
from tests.ui.test_page_browser import block, driver, figure, open_page, ps

__all__ = ["driver"]   # the module-scoped browser fixture, shared with the page's tests


def test_the_card_shows_the_last_import_and_the_next(driver: WebDriver,
                                                     tmp_path: Path) -> None:
    store = SQLiteStore.open(str(tmp_path))
    store.update_meta(lambda _m, _n: {
        LAST_KEY: json.dumps({"started_at": 1_780_000_000, "plays": 3, "resume_points": 1,
                              "ratings": 2, "scenes": 4}),
        IMPORT_DUE_KEY: repr(1_780_000_900.0)})
    store.close()
    with StashUI(str(tmp_path)) as ui:
        status = open_page(driver, ui)["status"]
        assert status["play_import"]["plays"] == 3
        assert (figure(driver, "play-import-plays"), figure(driver, "play-import-resume"),
                figure(driver, "play-import-ratings")) == ("3", "1", "2")
        assert "Next import" in ps(driver, "play-import-next").text
        assert ps(driver, "run-play-import").is_enabled()


def test_without_an_import_the_card_says_so(driver: WebDriver,
                                            tmp_path: Path) -> None:
    with StashUI(str(tmp_path)) as ui:
        open_page(driver, ui)
        text = block(driver, "play-import").text
        assert "No play-state import has run yet." in text
        assert "Automatic import is off" in text
