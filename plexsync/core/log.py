"""Logging in Stash's plugin protocol: `\\x01<level>\\x02message` lines on stderr.

Invariants:
- No secret ever reaches the log: every line passes through `redact`, which removes registered
  secrets (Plex token, Stash API key, session cookie) and any `X-Plex-Token` value, whatever
  form it takes (header dump, URL query, exception text).
- Libraries log too: stashapi through this logger (PlexSync hands it over as its `Logger`), and
  plexapi, urllib3 and requests through Python's `logging`. `redact_libraries()` (called by
  every task before its first request) makes every `logging` record pass through `redact`
  as it is created, whichever logger or handler (plexapi's own log file included) takes it.
- With `obfuscate_paths`, every absolute path has each segment replaced by a short stable digest
  (the extension is kept), so lines can still be correlated without revealing names.
- With `debug_logging`, debug lines are written at info level with a `[debug]` prefix (Stash hides
  debug lines by default); without it they go out at debug level.
- One line per call: embedded newlines are folded, lines are capped below Stash's 64 KB scanner.

This module is imported by the hook path, so it uses the standard library only.
"""

from __future__ import annotations

import sys

# `typing` costs milliseconds at import and this module is on the hook path
# (docs/design.md#hook-budget);
# mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Any, TextIO

_MAX_LINE = 60_000
_PLAIN = {"d": "DEBUG", "i": "INFO ", "w": "WARN ", "e": "ERROR"}
_SECRET_KEYS = ("x-plex-token", "apikey")
# Patterns are compiled on first use: `re` costs ~5 ms of imports and most hook runs never need it.
_SECRET_VALUE = r"([\"']?\s*[=:]\s*[\"']?)([^&\s\"',;}]+)"
# An absolute POSIX path (/a/b) or a Windows drive path (C:\a\b), not part of a URL (://host/..).
_PATH = r"(?<![\w:/])(?:/|[A-Za-z]:\\)(?:[^\s/\\\"'<>|]+[/\\])*[^\s/\\\"'<>|,;)]+"
# A quoted path may contain spaces: PlexSync always quotes the paths it logs (see `quote_path`).
_QUOTED_PATH = r"(?<=[\"'])(?:/|[A-Za-z]:\\)[^\"'\n]*(?=[\"'])"
_compiled: dict[str, re.Pattern[str]] = {}


def _pattern(name: str) -> re.Pattern[str]:
    pattern = _compiled.get(name)
    if pattern is None:
        import re

        if name == "path":
            pattern = re.compile(f"{_QUOTED_PATH}|{_PATH}")
        else:
            pattern = re.compile(f"({re.escape(name)}){_SECRET_VALUE}", re.IGNORECASE)
        _compiled[name] = pattern
    return pattern


def _digest(segment: str) -> str:
    stem, dot, ext = segment.rpartition(".")
    if not dot or not stem or len(ext) > 5:
        stem, ext = segment, ""
    import hashlib  # lazily: only obfuscate_paths needs it, and the hook path must stay lean

    mark = hashlib.sha256(stem.encode("utf-8", "replace")).hexdigest()[:6]
    return f"~{mark}" + (f".{ext}" if ext else "")


def obfuscate(text: str) -> str:
    """Replace every segment of every absolute path in `text` with a stable digest."""

    def one(match: re.Match[str]) -> str:
        path = match.group(0)
        sep = "\\" if path[1:3] == ":\\" else "/"
        head = path[:3] if sep == "\\" else "/"
        parts = [p for p in path[len(head):].split(sep) if p]
        return head + sep.join(_digest(p) for p in parts)

    return _pattern("path").sub(one, text)


def quote_path(path: str) -> str:
    """How every path appears in a log line: double-quoted, so obfuscation sees all of it."""
    return f'"{path}"'


class StashLog:
    """A logger bound to a stream; one module-level instance (`log`) serves the plugin."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._secrets: set[str] = set()
        self.debug_enabled = False
        self.obfuscate_paths = False
        self.plain = False   # command line: "LEVEL message" lines instead of Stash's protocol

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def add_secret(self, secret: str | None) -> None:
        """Register a value that must never be printed (ignored when shorter than 4 chars)."""
        if secret and len(secret) >= 4:
            self._secrets.add(secret)

    def redact_libraries(self) -> None:
        """Redact every `logging` record (plexapi, urllib3, requests, stashapi's own module
        logger) at creation, before any handler sees it. Idempotent."""
        import logging  # lazily: the hook path never logs through `logging`

        previous = logging.getLogRecordFactory()
        if getattr(previous, "_plexsync_redacts", None) is self:
            return

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                text = record.getMessage()
            except Exception:   # a library's own formatting bug: leave it to its handler
                return record
            record.msg, record.args = self.redact(text), ()   # plexapi's filter iterates args
            return record

        factory._plexsync_redacts = self   # type: ignore[attr-defined]
        logging.setLogRecordFactory(factory)

    def scrub(self, text: str) -> str:
        """`text` with every registered secret replaced (answers and result files: unlike
        `redact`, no pattern that could touch ordinary text)."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "[REDACTED]")
        return text

    def holds_secret(self, text: str) -> bool:
        """Whether `text` contains a registered secret (e.g. an environment variable's value)."""
        return any(secret in text for secret in self._secrets)

    def configure(self, *, debug: bool, obfuscate_paths: bool) -> None:
        self.debug_enabled = debug
        self.obfuscate_paths = obfuscate_paths

    def redact(self, text: str) -> str:
        text = self.scrub(text)
        lowered = text.lower()
        for key in _SECRET_KEYS:
            if key in lowered:
                text = _pattern(key).sub(r"\1\2[REDACTED]", text)
        return text

    def _emit(self, level: str, message: str) -> None:
        text = self.redact(str(message))
        if self.obfuscate_paths:
            text = obfuscate(text)
        text = text.replace("\r", " ").replace("\n", " ⏎ ")[:_MAX_LINE]
        line = f"{_PLAIN[level]} {text}\n" if self.plain else f"\x01{level}\x02{text}\n"
        try:
            self.stream.write(line)
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed (Stash killed the task): nothing to do
            pass

    def debug(self, message: str) -> None:
        if self.debug_enabled:
            self._emit("i", f"[debug] {message}")
        else:
            self._emit("d", message)

    def info(self, message: str) -> None:
        self._emit("i", message)

    def warning(self, message: str) -> None:
        self._emit("w", message)

    def error(self, message: str) -> None:
        self._emit("e", message)

    def progress(self, fraction: float) -> None:
        """Drive the progress bar of the task in Stash's job queue (clamped to 0..1)."""
        value = min(1.0, max(0.0, fraction))
        if self.plain:
            return
        try:
            self.stream.write(f"\x01p\x02{value:.4f}\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass


log = StashLog()
