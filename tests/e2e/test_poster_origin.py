"""The poster download sends Stash's credentials to Stash's own address only (story: Stash's
external host setting names another host, so paths.screenshot points there)."""

from __future__ import annotations

from pathlib import Path

from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.e2e.conftest import library, run_plugin
from tests.stash.test_download import JPEG, _Other, _serving

API_KEY, COOKIE = "APIKEY-poster-3", "COOKIE-poster-3"


def test_a_screenshot_stash_names_on_another_host_gets_no_api_key_or_cookie(
        tmp_path: Path) -> None:
    with FakeStash(api_key=API_KEY, session_cookie=COOKIE,
                   plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        [sid] = library(stash, plex, 1)
        stash.set_screenshot(sid, JPEG)
        for other in _serving(_Other(JPEG)):
            stash.external_host = other.url
            run = run_plugin(dict(stash.task_input({"mode": "sync_all"}),
                                  server_connection=dict(stash.server_connection(),
                                                         ApiKey=API_KEY)), tmp_path / "data")
            assert run.returncode == 0, run.answer
            assert other.seen, "the screenshot was fetched from the host Stash named"
            for headers in other.seen:
                assert "cookie" not in headers and "apikey" not in headers
                assert API_KEY not in str(headers) and COOKIE not in str(headers)
        assert plex.item(1).poster == JPEG   # fetched without credentials, and uploaded
