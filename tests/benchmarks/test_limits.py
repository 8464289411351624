"""The benchmarks' limits that are arithmetic or small helpers: the reconcile request counts
from the product's own page sizes, the bare Stash request's credentials, the bare SQLite
lookup floor. No benchmark runs here."""

from __future__ import annotations

import pytest

from benchmarks.index_build import _bare_lookups, _probes
from benchmarks.reconcile_run import plex_request_limit, stash_query_limit
from benchmarks.sync_requests import _auth_headers
from plexsync.plex.index import DEFAULT_PAGE_SIZE
from plexsync.reconcile.engine import PER_PAGE


def test_stash_query_limit_is_one_query_per_reconcile_page() -> None:
    assert PER_PAGE == 250   # the figure's bound text names it
    assert stash_query_limit(100_000) == 400
    assert stash_query_limit(2_000) == 8
    assert stash_query_limit(2_001) == 9
    assert stash_query_limit(PER_PAGE - 1) == 1


def test_an_empty_library_still_costs_the_one_page_that_says_so() -> None:
    assert stash_query_limit(0) == 1
    assert plex_request_limit(0) == 3


def test_plex_request_limit_is_the_listing_pages_plus_connect_and_sections() -> None:
    assert DEFAULT_PAGE_SIZE == 1_000   # the figure's bound text names it
    assert plex_request_limit(100_000) == 100 + 2
    assert plex_request_limit(2_000) == 2 + 2
    assert plex_request_limit(2_001) == 3 + 2


def test_bare_stash_requests_carry_the_session_cookie_the_plugin_was_given() -> None:
    headers = _auth_headers({"SessionCookie": {"Name": "session", "Value": "abc"}})
    assert headers["Cookie"] == "session=abc"
    assert "ApiKey" not in headers


def test_bare_stash_requests_carry_the_api_key_when_given_one() -> None:
    headers = _auth_headers({"ApiKey": "k", "SessionCookie": None})
    assert headers["ApiKey"] == "k"
    assert "Cookie" not in headers


def test_lookup_probes_are_the_same_paths_every_pass() -> None:
    assert _probes(5_000) == _probes(5_000)
    assert len(_probes(5_000)) == 1_000


def test_bare_lookups_answer_every_stored_path() -> None:
    rows = [(f"/media/{i}.mp4", i, 1_000 + i, 600 + i) for i in range(1, 51)]
    assert _bare_lookups(rows, [r[0] for r in rows]) > 0


def test_bare_lookups_refuse_a_miss_rather_than_report_a_rate() -> None:
    rows = [("/media/1.mp4", 1, 1_001, 601)]
    with pytest.raises(RuntimeError, match="only 0 of 1"):
        _bare_lookups(rows, ["/media/2.mp4"])


def test_the_reconcile_floor_uses_the_products_own_document_and_page_sizes() -> None:
    from benchmarks.reconcile_floor import plan
    from plexsync.stash.documents import RECONCILE_SCENE_PAGE

    got = plan("http://127.0.0.1:32400", "tok",
               {"Host": "0.0.0.0", "Port": 9999,
                "SessionCookie": {"Name": "session", "Value": "abc"}},
               "/data/videos=/media/videos")
    assert (got["stash_page"], got["plex_page"]) == (PER_PAGE, DEFAULT_PAGE_SIZE)
    assert got["document"] == RECONCILE_SCENE_PAGE
    assert (got["stash_host"], got["stash_port"]) == ("127.0.0.1", 9999)
    assert (got["stash_prefix"], got["plex_prefix"]) == ("/data/videos", "/media/videos")
    assert got["headers"]["Cookie"] == "session=abc"


def test_peak_rss_is_at_least_what_this_process_holds_now() -> None:
    import os

    from benchmarks.common import peak_rss_mib, rss_kib

    assert peak_rss_mib() >= rss_kib(os.getpid()) / 1024 > 0
