"""Settings (docs/settings.md): typed, defaulted, validated. Pure: no I/O here.

`Settings.from_mapping` takes the raw map Stash returns under `configuration.plugins.PlexSync`
(keys the user never touched are absent; values may be bool, number or string) and merges it
over the defaults. Every invalid value raises `ConfigError` with one sentence that names the
setting and says how to fix it. Plex credentials are checked only by `require_plex()`, so hooks
and local tasks work before the user has filled them in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from plexsync.core.paths import PathMap
from plexsync.core.vocab import TOGGLES
from plexsync.errors import ConfigError

# Every field with a `sync_<field>` toggle (core/vocab.py holds them and their defaults).
SYNC_FIELDS: tuple[str, ...] = tuple(TOGGLES)
TAGS_AS = ("genres", "labels", "both")
RECONCILE_INTERVALS = ("never", "hourly", "daily", "weekly")
RECONCILE_SCOPES = ("all", "24h", "7days")
# Where a user may paste the Plex token: its own settings (new and v0.1), and inside an address
# (Plex's "View XML" link ends in ?X-Plex-Token=…; http://user:token@host). `secrets_in`.
TOKEN_KEYS = ("plex_token", "plexToken")
URL_KEYS = ("plex_url", "plexHost")


@dataclass(frozen=True, slots=True)
class Settings:
    plex_url: str = ""
    plex_token: str = ""
    plex_library: tuple[str, ...] = ()
    path_map: PathMap = PathMap()  # noqa: RUF009 (frozen, immutable)
    enabled: bool = True
    strict_matching: bool = True
    preserve_plex_edits: bool = False
    lock_fields: bool = True
    sync_title: bool = TOGGLES["title"]
    sync_summary: bool = TOGGLES["summary"]
    sync_date: bool = TOGGLES["date"]
    sync_studio: bool = TOGGLES["studio"]
    sync_performers: bool = TOGGLES["performers"]
    sync_tags: bool = TOGGLES["tags"]
    sync_collections: bool = TOGGLES["collections"]
    sync_rating: bool = TOGGLES["rating"]
    sync_poster: bool = TOGGLES["poster"]
    sync_background: bool = TOGGLES["background"]
    scan_missing: bool = True
    tags_as: str = "genres"
    max_tags: int = 100
    max_retries: int = 5
    queue_timeout: int = 0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    verify_tls: bool = True
    reconcile_interval: str = "never"
    reconcile_scope: str = "24h"
    reconcile_missing: bool = True
    dlq_retention_days: int = 30
    wake_timer: bool = True
    import_play_state: bool = False   # Plex → Stash plays and resume points (docs/play-state.md)
    import_ratings: bool = False      # ... and ratings set in Plex
    debug_logging: bool = False
    obfuscate_paths: bool = False
    legacy_used: bool = False   # plex_url/plex_token came from the old v0.1 plugin's keys

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Settings:
        """Merge `raw` over the defaults and validate. Unknown keys are ignored."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "legacy_used" or f.name not in raw or raw[f.name] is None:
                continue
            values[f.name] = _coerce(f.name, raw[f.name], f.default)
        if not values.get("plex_url") and raw.get("plexHost"):
            values["plex_url"] = _legacy_url(raw)
            values["legacy_used"] = True
            try:
                _check_url(values["plex_url"])
            except ConfigError as exc:  # name the settings the user actually wrote
                raise ConfigError(f"plexHost/plexPort (the old v0.1 settings) give {exc}") from None
        if not values.get("plex_token") and raw.get("plexToken"):
            values["plex_token"] = str(raw["plexToken"]).strip()
            values["legacy_used"] = True
        settings = cls(**values)
        settings._validate()
        return settings

    def _validate(self) -> None:
        if self.plex_url:
            _check_url(self.plex_url)
        _choice("tags_as", self.tags_as, TAGS_AS)
        _choice("reconcile_interval", self.reconcile_interval, RECONCILE_INTERVALS)
        _choice("reconcile_scope", self.reconcile_scope, RECONCILE_SCOPES)
        _at_least("max_tags", self.max_tags, 0)
        _at_least("max_retries", self.max_retries, 0)
        _at_least("queue_timeout", self.queue_timeout, 0)
        _at_least("dlq_retention_days", self.dlq_retention_days, 1)
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ConfigError(
                "connect_timeout and read_timeout must be positive numbers of seconds."
            )

    def require_plex(self) -> None:
        """Raise unless the Plex connection settings are filled in."""
        if not self.plex_url:
            raise ConfigError(
                "plex_url is not set; enter your Plex address (e.g. http://192.168.1.5:32400) in "
                "Settings → Plugins → PlexSync."
            )
        if not self.plex_token:
            raise ConfigError(
                "plex_token is not set; paste your X-Plex-Token in Settings → Plugins → PlexSync."
            )

    def syncs(self, field_name: str) -> bool:
        """Whether the per-field toggle `sync_<field_name>` is on."""
        return bool(getattr(self, f"sync_{field_name}"))

    @property
    def plex_base_url(self) -> str:
        return self.plex_url.rstrip("/")


def _coerce(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off", ""):
            return False
        raise ConfigError(f"{name} must be true or false, not {value!r}.")
    if isinstance(default, int | float):
        try:
            number = float(str(value).strip()) if not isinstance(value, int | float) else value
        except (ValueError, OverflowError):
            raise ConfigError(f"{name} must be a number, not {value!r}.") from None
        if not math.isfinite(number):   # nan, inf, 1e309: no count or timeout is infinite
            raise ConfigError(f"{name} must be a finite number, not {value!r}; "
                              "enter a plain number such as "
                              f"{default:g} in Settings → Plugins → PlexSync.")
        if isinstance(default, int):
            if float(number) != int(number):
                raise ConfigError(f"{name} must be a whole number, not {value!r}.")
            return int(number)
        return float(number)
    if isinstance(default, PathMap):
        return PathMap.parse(str(value))
    if isinstance(default, tuple):
        return tuple(p.strip() for p in str(value).split(",") if p.strip())
    text = str(value).strip()
    if name in ("tags_as", "reconcile_interval", "reconcile_scope"):
        text = text.lower()
    return text


def _legacy_url(raw: Mapping[str, Any]) -> str:
    host = str(raw.get("plexHost", "")).strip().rstrip("/")
    if any(c in host for c in "?#@"):   # never echoed: it may hold the token
        raise ConfigError("plexHost (the old v0.1 setting) holds more than a host (a "
                          "?X-Plex-Token=… query, user:token@ or a #…); set plex_url to the "
                          "address alone, e.g. http://192.168.1.5:32400, and paste the token "
                          "into plex_token.")
    port = str(raw.get("plexPort", "") or "32400").strip()
    if "://" not in host:
        host = f"http://{host}"
    try:
        has_port = urlsplit(host).port is not None
    except ValueError as exc:
        raise ConfigError(f"plexHost {host!r} (the old v0.1 setting) is not a valid address "
                          f"({exc}); set plex_url like http://192.168.1.5:32400 in Settings → "
                          "Plugins → PlexSync instead.") from None
    return host if has_port else f"{host}:{port}"


def secrets_in(raw: Mapping[str, Any]) -> list[str]:
    """Every value in the raw settings that may be a credential, to register for redaction
    BEFORE any request carries the map (stashapi logs a failed request's variables): the
    token settings, and anything after `?`, `#` or in `user:pass@` of the address settings."""
    found = [str(raw[k]).strip() for k in TOKEN_KEYS if raw.get(k)]
    for key in URL_KEYS:
        url = str(raw.get(key) or "")
        rest = url.split("://", 1)[-1]
        userinfo, at, _ = rest.split("/", 1)[0].rpartition("@")
        if at:
            found.extend(userinfo.split(":"))
        for sep in ("?", "#"):
            if sep in url:
                tail = url.split(sep, 1)[1]
                found.extend(v for part in tail.replace("#", "&").split("&")
                             for v in (part, part.partition("=")[2]))
    return [s for s in found if s]


def _check_url(url: str) -> None:
    """plex_url must be http(s)://host[:port] with a valid port (a typo is not an outage), and
    carry no credentials: it is shown in answers, task results and the breaker's file."""
    example = "set it like http://192.168.1.5:32400 in Settings → Plugins → PlexSync"
    # Checked first and never echoed: the text after ?/# or before @ may be the token.
    if any(c in url for c in "?#@"):
        raise ConfigError("plex_url holds more than an address (a ?X-Plex-Token=… query, "
                          "user:token@ or a #…), which PlexSync would show and store; set "
                          "plex_url to the address alone, e.g. http://192.168.1.5:32400, and "
                          "paste the token into plex_token.")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        port = parts.port   # raises ValueError for a port that is not a number 0..65535
    except ValueError as exc:
        raise ConfigError(f"plex_url {url!r} is not a valid URL ({exc}); {example}.") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise ConfigError(f"plex_url {url!r} is not a URL; {example}.")
    if port == 0:
        raise ConfigError(f"plex_url {url!r} has port 0; {example}.")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; it is {value!r}.")


def _at_least(name: str, value: float, floor: float) -> None:
    if value < floor:
        raise ConfigError(f"{name} must be at least {floor:g}; it is {value:g}.")


# Defaults written back once (docs/settings.md) so Stash's UI shows checked boxes for true booleans
# and the
# real values of choices and numbers. Empty strings and secrets are never written.
def defaults_to_write(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The keys absent from `raw` with their default values, as Stash's settings UI types them."""
    missing: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name in raw or f.name in ("legacy_used", "plex_url", "plex_token", "path_map"):
            continue
        default = f.default
        if isinstance(default, tuple) or default == "":
            continue
        missing[f.name] = default
    return missing


def setting_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Settings) if f.name != "legacy_used")
