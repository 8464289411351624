"""File paths as Stash and Plex write them: POSIX or Windows, and `path_map` between them.
Pure: no I/O.

Every compared path is NFC first (`nfc`): one file name may arrive composed (Linux, Stash) or
decomposed (macOS-hosted Plex libraries) (docs/design.md#matching).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from plexsync.errors import ConfigError


@dataclass(frozen=True, slots=True)
class FsPath:
    """A path split into segments, POSIX (`/a/b`) or Windows (`C:\\a\\b`, `\\\\server\\share`).

    Windows paths compare case-insensitively and accept either separator, as Windows does.
    """

    windows: bool
    lead: str                   # "/" (POSIX absolute), "\\\\" (UNC) or "" (drive / relative)
    parts: tuple[str, ...]      # a Windows drive ("C:") is the first part

    @classmethod
    def parse(cls, text: str) -> FsPath:
        text = nfc(text)
        drive = len(text) >= 2 and text[1] == ":" and text[0].isalpha()
        if drive or text.startswith("\\\\"):
            parts = tuple(p for p in text.replace("/", "\\").split("\\") if p)
            return cls(True, "" if drive else "\\\\", parts)
        parts = tuple(p for p in text.split("/") if p)
        return cls(False, "/" if text.startswith("/") else "", parts)

    def key(self) -> tuple[str, ...]:
        return tuple(p.casefold() for p in self.parts) if self.windows else self.parts

    def __str__(self) -> str:
        sep = "\\" if self.windows else "/"
        text = self.lead + sep.join(self.parts)
        return text + sep if self.windows and len(self.parts) == 1 and not self.lead else text


@dataclass(frozen=True, slots=True)
class PathMapping:
    stash_prefix: FsPath
    plex_prefix: FsPath


@dataclass(frozen=True, slots=True)
class PathMap:
    """`stash_prefix=plex_prefix; ...`; the longest matching prefix wins, on a segment boundary.

    Either side may be POSIX or Windows (`/data=D:\\Media`, `D:\\=/mnt/d`); the mapped path takes
    the separators of the Plex side.
    """

    entries: tuple[PathMapping, ...] = ()

    @classmethod
    def parse(cls, text: str) -> PathMap:
        entries: list[PathMapping] = []
        for raw in text.replace("\n", ";").split(";"):
            chunk = raw.strip()
            if not chunk:
                continue
            stash, sep, plex = chunk.partition("=")
            if not sep or not stash.strip() or not plex.strip():
                raise ConfigError(
                    f"path_map entry {chunk!r} is not of the form /stash/prefix=/plex/prefix; "
                    "separate entries with ';'."
                )
            mapping = PathMapping(FsPath.parse(stash.strip()), FsPath.parse(plex.strip()))
            for side, prefix in (("Stash", mapping.stash_prefix), ("Plex", mapping.plex_prefix)):
                if not (prefix.lead or prefix.windows):   # relative: matches nothing or wrong
                    raise ConfigError(
                        f"path_map entry {chunk!r}: the {side} side {str(prefix)!r} is not an "
                        "absolute path; write both sides in full, like /data=/media.")
            if any(e.stash_prefix.key() == mapping.stash_prefix.key()
                   and e.stash_prefix.windows == mapping.stash_prefix.windows for e in entries):
                raise ConfigError(
                    f"path_map maps the Stash prefix {str(mapping.stash_prefix)!r} twice; keep "
                    "one entry per Stash prefix (entries are separated by ';').")
            entries.append(mapping)
        entries.sort(key=lambda e: len(e.stash_prefix.parts), reverse=True)
        return cls(tuple(entries))

    def to_plex(self, stash_path: str) -> str:
        """Map a Stash path to the path Plex sees (NFC); unchanged but NFC when no prefix
        matches."""
        path = FsPath.parse(stash_path)
        for entry in self.entries:
            mapped = _swap(path, entry.stash_prefix, entry.plex_prefix)
            if mapped is not None:
                return mapped
        return nfc(stash_path)

    def to_stash(self, plex_path: str) -> str:
        """Map a Plex path back to the path Stash sees (NFC): the longest Plex-side prefix
        wins; unchanged but NFC when no prefix matches."""
        path = FsPath.parse(plex_path)
        for entry in sorted(self.entries, key=lambda e: len(e.plex_prefix.parts), reverse=True):
            mapped = _swap(path, entry.plex_prefix, entry.stash_prefix)
            if mapped is not None:
                return mapped
        return nfc(plex_path)


def _swap(path: FsPath, old: FsPath, new: FsPath) -> str | None:
    """`path` with its prefix `old` replaced by `new` (in `new`'s style), or None."""
    n = len(old.parts)
    if (path.windows, path.lead) == (old.windows, old.lead) and path.key()[:n] == old.key():
        return str(FsPath(new.windows, new.lead, new.parts + path.parts[n:]))
    return None


def nfc(text: str) -> str:
    """The NFC form of `text` (cheap when it already is: the common case)."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)



def basename(path: str) -> str:
    """The last segment of a POSIX or Windows path (`FsPath` tells which)."""
    parts = FsPath.parse(path).parts
    return parts[-1] if parts else ""


def fold(name: str) -> str:
    """How basenames are compared: NFC, then case-insensitive (casefold)."""
    return nfc(nfc(name).casefold())


def folder_of(path: str) -> str:
    """The folder holding `path`, in the path's own style (`/a/b`, `C:\\a`, `\\\\srv\\share`)."""
    p = FsPath.parse(path)
    return str(FsPath(p.windows, p.lead, p.parts[:-1])) or "/"
