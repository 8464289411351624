"""Every warning and error message the code can print is explained in docs/troubleshooting.md.

The messages are read from the source (see `tests/docs/messages.py` for exactly what counts).
A message is documented when one line of the page quotes it, with `…` (or anything) standing for
each variable part: e.g. a table row holding `plex_library names '…', but Plex has no library by
that name; its libraries are: …` with its meaning and fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.messages import Message, extract, undocumented

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "troubleshooting.md"


def _report(missing: list[Message]) -> str:
    rows = "\n".join(f"  {m.where:<36} {m.source:<16} | `{m.text}` | meaning | fix |"
                     for m in missing)
    return (f"{len(missing)} message(s) the code can print are not in docs/troubleshooting.md. "
            "Add a table row quoting each one (… marks a variable part), with its meaning and "
            f"how to fix it:\n{rows}")


def test_every_warning_and_error_message_is_in_troubleshooting() -> None:
    missing = undocumented(extract(ROOT), PAGE.read_text(encoding="utf-8"))
    if missing:
        pytest.fail(_report(missing), pytrace=False)


def test_extractor_finds_the_messages_of_the_real_code() -> None:
    texts = {m.text for m in extract(ROOT)}
    # A few messages of each kind, so an extractor that silently finds nothing fails here.
    assert "plex_token is not set; paste your X-Plex-Token in Settings → Plugins → PlexSync." \
        in texts                                                            # ConfigError
    assert any(t.startswith("Plex… refused the token (401 Unauthorized)") for t in texts)
    assert any(t.startswith("PlexSync state file … was unreadable") for t in texts)  # warning
    assert any("upload failed: …" in t for t in texts)                     # job warning
    assert any(t.startswith("plex_url … is not a Plex Media Server") for t in texts)  # helper
    assert len(texts) >= 60


SAMPLE = '''
from plexsync.errors import PlexSyncError, ConfigError

class StoreError(PlexSyncError):
    pass

class DiskFull(StoreError):
    pass

class ConfigError(PlexSyncError):
    pass

def helper(name):
    return f"the thing {name} broke; restart it."

def run(path, exc, flag):
    log.warning(f"could not read {path}: {exc}")
    log.error(log.redact("plain error sentence here"))
    log.info("info lines are not collected at all")
    message = "assigned message, then raised" if flag else "other branch of the message"
    raise DiskFull(message)

def more(x):
    err = ConfigError(helper(x))
    log.error(str(err))
    respond(error="the task was stopped by the user")
    return Outcome(warnings=(f"poster upload failed: {x}",))

def translate(what: str, not_found: type[StoreError]):
    log.warning("old style %s formatting of %d things" % (what, 3))
    log.error("the {} format method, {name}".format(what, name=what))
    return not_found(f"nothing answered for {what}.")
'''


def test_extractor_follows_fstrings_variables_helpers_and_error_subclasses(
    tmp_path: Path,
) -> None:
    (tmp_path / "plexsync").mkdir()
    (tmp_path / "plexsync.py").write_text("")
    (tmp_path / "plexsync" / "mod.py").write_text(SAMPLE)
    texts = {m.text for m in extract(tmp_path)}
    assert texts == {
        "could not read …: …",
        "plain error sentence here",
        "assigned message, then raised",
        "other branch of the message",
        "the thing … broke; restart it.",
        "the task was stopped by the user",
        "poster upload failed: …",
        "old style … formatting of … things",
        "the … format method, …",
        "nothing answered for ….",
    }


def test_a_message_matches_a_quote_with_ellipses_but_not_a_different_sentence(
    tmp_path: Path,
) -> None:
    (tmp_path / "plexsync").mkdir()
    (tmp_path / "plexsync.py").write_text("")
    (tmp_path / "plexsync" / "mod.py").write_text(
        'raise ConfigError(f"plex_library names {x!r}, but Plex has no library by that name.")\n'
        'class ConfigError(PlexSyncError): pass\n')
    messages = extract(tmp_path)
    assert len(messages) == 1
    good = "| `plex_library names '…', but Plex has no library by that name` | typo | fix it |"
    assert undocumented(messages, good) == []
    assert undocumented(messages, "plex_library names '…', but Plex has a library") == messages
    # The quote must sit on one line: a message split across lines is not found.
    assert undocumented(messages, "plex_library names '…',\nbut Plex has no library by that "
                                  "name") == messages
