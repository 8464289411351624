"""The HTTP session PlexSync talks to Plex through, and its redirect policy.

Why: plexapi sends the Plex token as the `X-Plex-Token` header on every request, and
`requests` strips only `Authorization` when it follows a redirect to another host. A reverse
proxy (misconfigured or hostile) answering any request with `Location: http://other-host/...`
would be sent the user's token. So:

Invariants:
- A redirect is followed only to the SAME origin as plex_url (scheme, host and port, with
  http's 80 and https's 443 as the default ports): Plex, or the proxy in front of it, moving a
  read within the server plex_url names. Every other target (another host, another port,
  http → https) raises `PlexSetupError` before any request is built for it: nothing, the
  token included, is ever sent to another origin. This holds for every hop of a chain.
- A write (PUT, POST, DELETE, PATCH) follows no redirect at all: the session's `follow_none`
  (core/redirects.py states the rule and its reason once), enforced for every write PlexSync
  sends, so the client adds nothing of its own.
- Both refusals raise the one message of `redirect_refused`, which names the target without
  its query, fragment or credentials (a proxy may echo the token into the query), and is
  redacted. `PlexSetupError` stops the drain and charges no job.

How: the policy itself (origins, the refusing session) is `plexsync.core.redirects`, shared
with Stash's session; this module adds the Plex message. It imports `requests`;
`plex.client` imports this module lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from plexsync.core.log import log
from plexsync.core.redirects import WRITES, Refusal, SameOriginRedirects
from plexsync.errors import PlexSetupError


def redirect_refused(refusal: Refusal) -> PlexSetupError:
    """The one error for a redirect PlexSync will not follow (a write's, or another origin's)."""
    return PlexSetupError(log.redact(
        f"Plex at {refusal.base_url} answered {refusal.what} with a redirect ({refusal.status}) "
        f"to {refusal.target}; PlexSync "
        "does not follow it, so nothing was written, the token was not sent there and no job "
        "was charged. Set plex_url to the address that reaches Plex without a redirect (a "
        "proxy's https:// address, or Plex's own http://host:32400)."))


# Requests sent to Plex by this process, every session and hop included: the drain's token
# bucket spends a token only for a job that sent Plex something (resilience/gate.py).
SENT = [0]


class PlexSession(SameOriginRedirects, requests.Session):
    """A `requests.Session` that follows redirects only within plex_url's origin, counting
    the requests it sends (`SENT`), and that sends `identity` (PlexSync's X-Plex-* headers)
    with every request."""

    def __init__(self, base_url: str, identity: Mapping[str, str]) -> None:
        super().__init__(base_url, redirect_refused, follow_none=WRITES)
        self._identity = dict(identity)

    def prepare_request(self, request: Any) -> Any:
        """The request with `identity` over the headers it was given: plexapi copies its own
        module-wide identity into every request, which would win over session headers, and
        PlexSync must not change plexapi's globals (a user's plexapi code shares them)."""
        prepared = super().prepare_request(request)
        prepared.headers.update(self._identity)
        return prepared

    last_status = 0   # the HTTP status of the last answer (0: none yet, or no answer)

    def send(self, request: Any, **kwargs: Any) -> Any:
        """Count the request; remember its answer's status, which classifies a failure
        (plex/errors.py) where plexapi raises a bare BadRequest."""
        SENT[0] += 1
        self.last_status = 0
        response = super().send(request, **kwargs)
        self.last_status = int(response.status_code)
        return response
