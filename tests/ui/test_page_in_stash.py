"""The PlexSync page where Stash users meet it: behind a reverse proxy under `/stash`, on a
phone (420 px, Stash's collapsed menu), in Stash's dark theme, and with the plugin disabled;
inside Stash's real frontend in headless Chromium (tests/ui/browser.py)."""

from __future__ import annotations

import time
from pathlib import Path

from testkit.page_state import TITLES, seed_mixed
from testkit.stash_ui import StashUI
from tests.ui.browser import (
    PHONE,
    ROOT,
    By,
    WebDriver,
    WebElement,
    assert_clean,
    boot,
    figure,
    open_page,
    page_shown,
    ps,
    screenshot,
    stash,
    wait_for,
)

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
