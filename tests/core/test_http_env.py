"""pin_environment: the proxy/CA environment is read once per session, with the same answer
requests would have computed per request."""

from __future__ import annotations

import pytest
import requests

from plexsync.core.http_env import pin_environment


def test_a_proxy_from_the_environment_is_kept_and_no_longer_re_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = requests.Session()
    pin_environment(session, "http://plex.lan:32400")
    assert session.proxies.get("http") == "http://proxy.example:3128"
    assert session.trust_env is False


def test_a_server_named_in_no_proxy_gets_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "plex.lan")
    session = requests.Session()
    pin_environment(session, "http://plex.lan:32400")
    assert "http" not in session.proxies


def test_a_ca_bundle_from_the_environment_is_used_unless_verification_is_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/custom.pem")
    verified, unverified = requests.Session(), requests.Session()
    unverified.verify = False
    pin_environment(verified, "https://plex.lan:32400")
    pin_environment(unverified, "https://plex.lan:32400")
    assert verified.verify == "/etc/ssl/custom.pem"
    assert unverified.verify is False
