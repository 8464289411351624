"""File paths as Stash and Plex write them: POSIX or Windows, and `path_map` between them.

Pure: no I/O. Imported by settings (to parse `path_map`), the library index and the matcher.
"""

from __future__ import annotations

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
        entries = []
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
            entries.append(PathMapping(FsPath.parse(stash.strip()), FsPath.parse(plex.strip())))
        entries.sort(key=lambda e: len(e.stash_prefix.parts), reverse=True)
        return cls(tuple(entries))

    def to_plex(self, stash_path: str) -> str:
        """Map a Stash path to the path Plex sees; unchanged when no prefix matches."""
        path = FsPath.parse(stash_path)
        for entry in self.entries:
            prefix = entry.stash_prefix
            n = len(prefix.parts)
            if (path.windows, path.lead) == (prefix.windows, prefix.lead) and \
                    path.key()[:n] == prefix.key():
                plex = entry.plex_prefix
                return str(FsPath(plex.windows, plex.lead, plex.parts + path.parts[n:]))
        return stash_path



def basename(path: str) -> str:
    """The last segment of a POSIX or Windows path (`FsPath` tells which)."""
    parts = FsPath.parse(path).parts
    return parts[-1] if parts else ""


def fold(name: str) -> str:
    """How basenames are compared: case-insensitive (casefold), nothing else."""
    return name.casefold()


def folder_of(path: str) -> str:
    """The folder holding `path`, in the path's own style (`/a/b`, `C:\\a`, `\\\\srv\\share`)."""
    p = FsPath.parse(path)
    return str(FsPath(p.windows, p.lead, p.parts[:-1])) or "/"
