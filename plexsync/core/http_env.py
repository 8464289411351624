"""Reading the HTTP environment (proxies, CA bundle) once per session instead of per request.

`requests` re-reads it on every request while `Session.trust_env` is on: `getproxies` walks
`os.environ` each time, which was a fifth of a changed scene's CPU in benchmarks/sync_requests
(docs/performance.md). A PlexSync session talks to one server (Plex, or Stash), so the answer
cannot change between its requests: `pin_environment` reads it once for that server's URL and
turns the per-request reading off. HTTP(S)_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE /
CURL_CA_BUNDLE keep working as before; `.netrc` is no longer consulted (PlexSync authenticates
with the Plex token, Stash's session cookie or API key).

Standard library only at import time; it works on a `requests.Session` it is given.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def pin_environment(session: Any, url: str) -> None:
    """Fix `session`'s proxies and CA bundle to what the environment says for `url` now."""
    found = session.merge_environment_settings(url, {}, None, session.verify, None)
    session.proxies.update(found["proxies"])
    session.verify = found["verify"]
    session.trust_env = False
