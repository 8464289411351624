"""The real plexapi client, typed for the tests that drive ``FakePlex`` through it.

plexapi ships a ``py.typed`` marker but no annotations, so under mypy's strict mode every call
into it is an untyped call. ``connect`` makes the one such call, ``PlexServer(...)``, and hands
the server back as ``PlexClient``: a Protocol naming the part of ``PlexServer`` the tests use,
with the types plexapi documents. mypy checks that ``PlexServer`` has those members. What
they return (items, sections, media parts) stays ``Any``: plexapi's dynamic objects.

Requests sent through ``connect`` stand for the user's own plexapi scripts, not PlexSync: they
carry the ``TEST_CLIENT_HEADER``, so the session-wide Plex contract check
(``tests/contract/plex_guard.py``) leaves them alone (plexapi itself sends some off-spec
requests, such as ``GET /library``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, Protocol

import requests

#: Marks a request as the tests' own plexapi client (a user's script), not PlexSync.
TEST_CLIENT_HEADER = "X-Testkit-Client"


class PlexClient(Protocol):
    """The part of ``plexapi.server.PlexServer`` the tests use, under plexapi's own names."""

    machineIdentifier: str  # noqa: N815
    version: str
    _session: requests.Session
    _token: str | None

    @property
    def library(self) -> Any: ...  # plexapi.library.Library

    def identity(self) -> Any: ...

    def fetchItem(self, ekey: int | str) -> Any: ...  # noqa: N802

    def history(self, maxresults: int | None = None, mindate: Any = None,  # playback history
                ratingKey: Any = None, accountID: Any = None,  # noqa: N803
                librarySectionID: Any = None) -> list[Any]: ...  # noqa: N803

    def query(self, key: str, method: Callable[..., requests.Response] | None = None,
              **kwargs: Any) -> ET.Element | None:
        """The parsed XML answer; None when the body is empty."""
        ...

    def url(self, key: str) -> str: ...

    def _headers(self) -> dict[str, str]: ...  # the X-Plex-* headers plexapi sends


def connect(url: str, token: str, **kwargs: Any) -> PlexClient:
    """``PlexServer(url, token, **kwargs)``: one ``GET /``; raises as plexapi does. Every request
    it sends carries ``TEST_CLIENT_HEADER`` (unless a ``session`` is passed in)."""
    from plexapi.server import PlexServer

    if "session" not in kwargs:
        session = requests.Session()
        session.headers[TEST_CLIENT_HEADER] = "user-script"
        kwargs["session"] = session
    # plexapi is unannotated: this is the tests' one untyped call into it.
    server: PlexClient = PlexServer(url, token, **kwargs)  # type: ignore[no-untyped-call]
    return server
