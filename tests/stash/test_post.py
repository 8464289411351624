"""The hook's raw-socket POST to Stash follows no redirect: a 3xx is a failed request.

It writes HTTP by hand and reads one answer: anything but 200 raises (the hook then withdraws
its marker and the next hook tries again), so the session cookie and API key never reach a
host a `Location` names. The wake-up timer sends its request through the same function."""

from __future__ import annotations

import pytest

from plexsync.stash.post import CredentialsRefused, request_drain
from testkit.fake_stash import FakeStash


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_run_plugin_task_is_a_failure_and_nothing_reaches_the_other_host(
        status: int) -> None:
    with FakeStash(api_key="APIKEY-1", session_cookie="COOKIE-1") as stash, \
            FakeStash() as other:
        stash.redirect(status, other.url, path_prefix="/graphql")
        conn = dict(stash.server_connection(), ApiKey="APIKEY-1")
        with pytest.raises(ValueError, match=rf"^Stash answered HTTP {status}$"):
            request_drain(conn)
        assert other.http_requests == []
        assert stash.task_runs == []


def test_the_same_post_without_a_redirect_queues_the_task() -> None:
    with FakeStash(api_key="APIKEY-1", session_cookie="COOKIE-1") as stash:
        request_drain(dict(stash.server_connection(), ApiKey="APIKEY-1"))
        assert len(stash.task_runs) == 1


def test_a_refused_credential_is_told_apart_from_a_stash_that_does_not_answer() -> None:
    with FakeStash(session_cookie="COOKIE-1") as stash:
        stash.refuse_credentials = True          # 401, as Stash refuses a cookie or key
        with pytest.raises(CredentialsRefused, match=r"^HTTP 401$"):
            request_drain(stash.server_connection())
        stash.refuse_credentials = False
        stash.proxy_status = 503                 # a proxy in front of a Stash that is away
        with pytest.raises(ValueError, match=r"^Stash answered HTTP 503$") as info:
            request_drain(stash.server_connection())
        assert not isinstance(info.value, CredentialsRefused)
        assert stash.task_runs == []
