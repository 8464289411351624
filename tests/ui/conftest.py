"""The browser for tests/ui/: one headless Chromium per session (tests/ui/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.browser import (
    BUILD_DIR,
    CHROMEDRIVER,
    CHROMIUM,
    CSP_WATCH,
    DESKTOP,
    Service,
    WebDriver,
    console_log,
    need,
    webdriver,
)


@pytest.fixture(scope="session")
def driver() -> Iterator[WebDriver]:
    missing = [name for name, found in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER))
               if found is None]
    if missing:
        need(f"browser test needs {', '.join(missing)} (apt-get install chromium "
             "chromium-driver)")
    if not (BUILD_DIR / "index.html").is_file():
        need(f"Stash's frontend build is not at {BUILD_DIR} (CI has it beside the repository)")
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
