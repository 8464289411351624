"""Session-wide Plex contract check: every request a test sends to a fake Plex, and every answer
the fake gives, is checked against the PMS API spec while the test runs.

``plex_contract_guard`` is an autouse fixture (imported by ``tests/conftest.py``). For each test
outside ``tests/testkit`` and ``tests/contract`` (which send junk to the fake on purpose) it
registers an observer on ``testkit.fake_plex.OBSERVERS``; every request any ``FakePlex`` serves
during the test, including those from ``plexsync.py`` run as a subprocess by the e2e tests, is
checked with ``PlexSpec.check_request`` and ``check_response``. A problem fails that test at
teardown, naming the request. Why this and not a log file read at the end: the fake runs in
the pytest process even for the e2e tests, so an in-process observer sees every request with no
file, no ordering between test files, and the failure lands on the test that sent it.

Requests from the tests' own plexapi client (``testkit.plex_client.connect``, standing for a
user's script) carry ``TEST_CLIENT_HEADER`` and are not PlexSync's: they are not checked, but
the fake's answers to PlexSync are. A test that must send an off-spec request on purpose says
so with
``@pytest.mark.plex_offspec("why")``. Without the spec (``../shared/plex-spec`` absent) the guard
does nothing; ``tests/contract/test_plex_contract.py`` then skips, saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache

import pytest

from testkit import fake_plex
from testkit.fake_plex import RequestRecord
from testkit.plex_client import TEST_CLIENT_HEADER
from testkit.plex_contract import PlexSpec
from testkit.plex_http import Response

EXEMPT_DIRS = ("tests/testkit/", "tests/contract/")


@cache
def spec_or_none() -> PlexSpec | None:
    try:
        return PlexSpec.load()
    except FileNotFoundError:
        return None


def checking_observer(problems: list[str],
                      spec: Callable[[], PlexSpec | None] = spec_or_none) -> fake_plex.Observer:
    """An observer that appends to ``problems`` every way a request (unless the tests' own
    plexapi client sent it) or the fake's answer departs from the spec."""

    def observe(record: RequestRecord, pairs: list[tuple[str, str]], response: Response) -> None:
        if TEST_CLIENT_HEADER in record.headers:  # a user's plexapi script, not PlexSync
            return
        loaded = spec()  # cached: the guard loaded it before the test began
        if loaded is None:
            return
        try:
            problems.extend(loaded.check_request(record.method, record.path, pairs))
            problems.extend(loaded.check_response(record.method, record.path, response.status,
                                                  response.headers, response.body))
        except Exception as exc:  # a checker bug must show, not kill the fake's thread
            problems.append(f"{record.method} {record.path}: contract check crashed: {exc!r}")

    return observe


@pytest.fixture(autouse=True)
def plex_contract_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    nodeid = request.node.nodeid
    if nodeid.startswith(EXEMPT_DIRS) or request.node.get_closest_marker("plex_offspec"):
        yield
        return
    # Load the spec now, not inside the first request a fake serves: that answer would wait
    # for it (0.1 s idle, over 2 s under load) and a client with short timeouts would see a
    # Plex that does not answer in time.
    spec_or_none()
    problems: list[str] = []
    observe = checking_observer(problems)
    fake_plex.OBSERVERS.append(observe)
    try:
        yield
    finally:
        fake_plex.OBSERVERS.remove(observe)
    if problems:
        unique = list(dict.fromkeys(problems))
        pytest.fail("Plex traffic off the PMS API spec (see docs/plex-api.md):\n  "
                    + "\n  ".join(unique[:20]), pytrace=False)

