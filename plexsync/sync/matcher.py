"""Scene files → one Plex item, with a confidence (docs/design.md#matching). Pure: no I/O, no clock.

Rules, applied to the scene's files in order (primary first), each path mapped through
`path_map` first (paths compared in NFC, see core/paths.py):
1. A mapped path found exactly in the index of a configured section → HIGH (exact beats every
   basename guess, whichever file it comes from).
2. Else, only for files whose mapped path lies OUTSIDE every configured section's folders (the
   basename search rescues a missing or incomplete `path_map`; a path inside them that Plex
   lacks is not scanned yet, never a guess), the same basename (case-insensitive) in the
   configured sections, leaving out the `excluded` items (another scene owns them: the caller
   decides, see sync/ownership.py), per file in order:
   - one candidate item whose size equals the file's → HIGH;
   - one candidate without size agreement, or several → LOW, unless exactly one of them agrees on
     size and on duration (±1 s) → HIGH.
   The first file that yields HIGH wins; otherwise the result is LOW with every candidate path
   (primary file's first) and the best one (size and duration agreement first) as the pick.
3. No candidate at all → `NotInPlex` when a mapped path lies under a configured section's
   `Location` (Plex should have it and has not scanned it yet), else `OutOfScope`.

Candidates are items, not paths: two parts of one multi-file Plex item count once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, Protocol

from plexsync.core.paths import FsPath, PathMap, basename, fold, folder_of
from plexsync.plex.model import Candidate

DURATION_TOLERANCE_MS = 1000


class Confidence(StrEnum):
    HIGH = "HIGH"
    LOW = "LOW"


class SceneFile(NamedTuple):
    """One file of a Stash scene (Stash's path, bytes, seconds)."""

    path: str
    size: int
    duration_s: float


class Lookup(Protocol):
    """What the matcher needs from the index, restricted to the configured sections."""

    def by_path(self, plex_path: str) -> Candidate | None: ...

    def by_basename(self, basename_folded: str) -> Sequence[Candidate]: ...


@dataclass(frozen=True, slots=True)
class Match:
    rating_key: int
    section_id: int
    confidence: Confidence
    plex_path: str
    candidates: tuple[str, ...] = ()   # for LOW: every candidate path, the pick first
    reason: str = ""
    exact: bool = False                # found by exact mapped path (else by basename)


@dataclass(frozen=True, slots=True)
class NotInPlex:
    """The file lies under a configured section's folder but Plex has no item for it (yet)."""

    section_id: int
    plex_path: str
    folder: str          # the folder to ask Plex to scan


@dataclass(frozen=True, slots=True)
class OutOfScope:
    """Every file lies outside every configured section: not an error (docs/design.md#matching)."""

    plex_paths: tuple[str, ...]


Result = Match | NotInPlex | OutOfScope


def section_of(plex_path: str, locations: Mapping[int, Sequence[str]]) -> int | None:
    """The configured section whose Location holds `plex_path` (deepest location wins).

    Compared segment by segment, as `config.FsPath` does: case-insensitively on Windows, and
    never on a partial segment (`/media/videos2` is not under `/media/videos`)."""
    path = FsPath.parse(plex_path)
    best: tuple[int, int] | None = None
    for section_id, paths in locations.items():
        for loc in paths:
            root = FsPath.parse(loc)
            n = len(root.parts)
            if not n or (root.windows, root.lead) != (path.windows, path.lead):
                continue
            if path.key()[:n] == root.key() and (best is None or n > best[1]):
                best = (section_id, n)
    return best[0] if best else None


def exact(
    files: Sequence[SceneFile], path_map: PathMap, lookup: Lookup
) -> Match | None:
    """Rule 1 alone: the first file whose mapped path the index holds exactly."""
    for f in files:
        plex_path = path_map.to_plex(f.path)
        hit = lookup.by_path(plex_path) or _same_windows_file(plex_path, lookup)
        if hit is not None:
            return Match(hit.rating_key, hit.section_id, Confidence.HIGH, hit.path,
                         reason="exact path", exact=True)
    return None


def _same_windows_file(plex_path: str, lookup: Lookup) -> Candidate | None:
    """The indexed file a Windows path names in another letter case (Windows paths are
    case-insensitive; the index keys them as Plex spells them): found among the file's
    namesakes, whose lookup is already case-insensitive."""
    path = FsPath.parse(plex_path)
    if not path.windows:
        return None
    key = (path.lead, path.key())
    for cand in lookup.by_basename(fold(basename(plex_path))):
        other = FsPath.parse(cand.path)
        if other.windows and (other.lead, other.key()) == key:
            return cand
    return None


def rescue_candidates(
    files: Sequence[SceneFile],
    path_map: PathMap,
    lookup: Lookup,
    locations: Mapping[int, Sequence[str]],
) -> list[Candidate]:
    """Every basename candidate rule 2 would weigh (before exclusions), one per item."""
    out: list[Candidate] = []
    for f in files:
        plex_path = path_map.to_plex(f.path)
        if section_of(plex_path, locations) is None:
            out.extend(lookup.by_basename(fold(basename(plex_path))))
    return _distinct_items(out)


def match(
    files: Sequence[SceneFile],
    path_map: PathMap,
    lookup: Lookup,
    locations: Mapping[int, Sequence[str]],
    excluded: Collection[int] = frozenset(),
    contested: Collection[int] = frozenset(),
) -> Result:
    """Apply docs/design.md#matching to a scene's files; see the module docstring for the exact
    rules.

    `excluded`: ratingKeys the basename search must never pick (another scene owns them).
    `contested`: ratingKeys whose file could as well be another Stash scene's (it has a file
    of that name and size): never a HIGH basename match, at best LOW."""
    mapped = [(f, path_map.to_plex(f.path)) for f in files]
    hit = exact(files, path_map, lookup)
    if hit is not None:
        return hit

    low: list[tuple[SceneFile, list[Candidate]]] = []
    for scene_file, plex_path in mapped:
        if section_of(plex_path, locations) is not None:
            continue   # inside a library: Plex has not scanned it yet (rule 3), never a guess
        items = [c for c in _distinct_items(lookup.by_basename(fold(basename(plex_path))))
                 if c.rating_key not in excluded]
        if not items:
            continue
        decided = _decide(scene_file, items, contested)
        if decided is not None:
            return decided
        low.append((scene_file, items))

    if low:
        return _low(low)

    for _, plex_path in mapped:
        section_id = section_of(plex_path, locations)
        if section_id is not None:
            return NotInPlex(section_id, plex_path, folder_of(plex_path))
    return OutOfScope(tuple(p for _, p in mapped))


def _distinct_items(candidates: Sequence[Candidate]) -> list[Candidate]:
    seen: set[tuple[int, int]] = set()
    out: list[Candidate] = []
    for cand in sorted(candidates, key=lambda c: (c.section_id, c.rating_key, c.path)):
        key = (cand.section_id, cand.rating_key)
        if key not in seen:
            seen.add(key)
            out.append(cand)
    return out


def _size_agrees(f: SceneFile, c: Candidate) -> bool:
    return f.size > 0 and c.size == f.size


def _duration_agrees(f: SceneFile, c: Candidate) -> bool:
    if f.duration_s <= 0 or c.duration_ms <= 0:
        return False
    return abs(c.duration_ms - round(f.duration_s * 1000)) <= DURATION_TOLERANCE_MS


def _decide(f: SceneFile, items: list[Candidate], contested: Collection[int]) -> Match | None:
    """HIGH when the basename candidates decide it, else None (LOW is decided by the caller)."""
    if any(c.rating_key in contested for c in items):
        return None
    if len(items) == 1 and _size_agrees(f, items[0]):
        c = items[0]
        return Match(c.rating_key, c.section_id, Confidence.HIGH, c.path,
                     reason=f"unique basename, same size ({f.size} bytes)")
    both = [c for c in items if _size_agrees(f, c) and _duration_agrees(f, c)]
    if len(both) == 1:
        c = both[0]
        return Match(c.rating_key, c.section_id, Confidence.HIGH, c.path,
                     reason=f"basename, the only one of {len(items)} candidates with the same "
                            f"size ({f.size} bytes) and duration ({f.duration_s:.0f} s)")
    return None


def _score(pair: tuple[SceneFile, Candidate]) -> tuple[bool, bool]:
    return _size_agrees(*pair), _duration_agrees(*pair)


def _low(groups: list[tuple[SceneFile, list[Candidate]]]) -> Match:
    ranked: list[tuple[SceneFile, Candidate]] = []
    for scene_file, items in groups:   # primary file's candidates first, then by agreement
        ranked.extend(sorted(((scene_file, c) for c in items), key=_score, reverse=True))
    _, best = max(ranked, key=_score)   # max keeps the first of equals
    paths = tuple(dict.fromkeys([best.path, *(c.path for _, c in ranked)]))
    reason = f"basename matches {len(paths)} Plex file(s) without a decisive size/duration"
    return Match(best.rating_key, best.section_id, Confidence.LOW, best.path,
                 candidates=paths, reason=reason)
