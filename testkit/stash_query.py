"""``findScenes`` semantics for the fake Stash: scene filters, search, sorting and paging.

``query_scenes`` implements ``SceneFilterType`` criteria, ``FindFilterType`` paging and sorting,
and ``ids``/``scene_ids``, over the rows of ``testkit/stash_rows.py``. It follows Stash's sqlite
layer (about v0.30):

- ``TimestampCriterionInput`` compares the stored RFC3339 text as Stash's SQL does
  (``scenes.updated_at > ?``). BETWEEN without ``value2`` runs up to now + 1 day.
- String EQUALS/NOT_EQUALS are SQL ``LIKE`` with no escaping: ``%``/``_`` are wildcards,
  and ASCII case is ignored. INCLUDES/EXCLUDES match each word as a substring.
  IS_NULL/NOT_NULL treat "" as null. An empty text column is NULL in Stash, so it never
  matches EQUALS or INCLUDES.
- ``per_page`` -1 means all rows, 0 means only the count, and the default is 25. A ``page``
  below 1 counts as 1. ``count`` is the total before paging. With ``ids``, filter and paging
  are ignored, and an unknown id is an error.

Simplified: the title sort is case-insensitive, not natural. Ties are broken by id. ``q``
matches each word against title, details, code and file paths. Modifiers that Stash rejects
raise ``FilterError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from testkit.stash_rows import Scene


class FilterError(Exception):
    """A query Stash would reject; it becomes a GraphQL error on the request."""


# --------------------------------------------------------------------------- criteria

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _like(value: str, pattern: str) -> bool:
    """SQLite LIKE without ESCAPE: % and _ are wildcards, ASCII case-insensitive."""
    regex = "".join(
        ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        for ch in pattern.translate(_ASCII_LOWER)
    )
    return re.fullmatch(regex, value.translate(_ASCII_LOWER), re.DOTALL) is not None


def _search_words(text: str) -> list[str]:
    """Split like Stash's search strings: quoted phrases stay whole."""
    return [a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', text) if a or b]


def _string_match(value: str | None, crit: Mapping[str, Any]) -> bool:
    modifier, wanted = str(crit["modifier"]), str(crit["value"])
    if modifier == "IS_NULL":
        return value is None or value.strip() == ""
    if modifier == "NOT_NULL":
        return value is not None and value.strip() != ""
    if not value:  # NULL in SQL: only the explicitly null-tolerant clauses match
        return modifier in ("EXCLUDES", "NOT_MATCHES_REGEX")
    checks: dict[str, Callable[[str], bool]] = {
        "EQUALS": lambda v: _like(v, wanted),
        "NOT_EQUALS": lambda v: not _like(v, wanted),
        "INCLUDES": lambda v: all(_like(v, f"%{w}%") for w in _search_words(wanted)),
        "EXCLUDES": lambda v: not any(_like(v, f"%{w}%") for w in _search_words(wanted)),
        "MATCHES_REGEX": lambda v: re.search(wanted, v) is not None,
        "NOT_MATCHES_REGEX": lambda v: re.search(wanted, v) is None,
    }
    if modifier not in checks:
        raise FilterError(f"unsupported string filter modifier: {modifier}")
    return checks[modifier](value)


def _compare(value: Any, crit: Mapping[str, Any], upper_default: Any, kind: str) -> bool:
    """Int, date and timestamp criteria: SQL comparisons (text for date/timestamp)."""
    modifier, low = str(crit["modifier"]), crit["value"]
    high = upper_default if crit.get("value2") is None else crit["value2"]
    if modifier == "IS_NULL":
        return value is None or value == ""
    if modifier == "NOT_NULL":
        return value is not None and value != ""
    if value is None:
        return False
    checks: dict[str, Callable[[Any], bool]] = {
        "EQUALS": lambda v: bool(v == low),
        "NOT_EQUALS": lambda v: bool(v != low),
        "GREATER_THAN": lambda v: bool(v > low),
        "LESS_THAN": lambda v: bool(v < low),
        "BETWEEN": lambda v: bool(low <= v <= high),
        "NOT_BETWEEN": lambda v: not low <= v <= high,
    }
    if modifier not in checks:
        raise FilterError(f"unsupported {kind} modifier type {modifier}")
    return checks[modifier](value)


def scene_matches(scene: Scene, scene_filter: Mapping[str, Any] | None, upper: str) -> bool:
    """Evaluate a SceneFilterType; AND/OR/NOT combine a sub-filter with the own criteria.
    ``upper`` is Stash's BETWEEN default (now + 1 day, as text)."""
    if not scene_filter:
        return True
    operators = [op for op in ("AND", "OR", "NOT") if scene_filter.get(op) is not None]
    if len(operators) > 1:
        raise FilterError("AND, OR and NOT filters are mutually exclusive")
    own = _own_criteria(scene, scene_filter, upper)
    if not operators:
        return own is not False
    sub = scene_matches(scene, scene_filter[operators[0]], upper)
    if operators[0] == "AND":
        return own is not False and sub
    if operators[0] == "OR":
        return sub if own is None else own or sub
    return own is not False and not sub


def _own_criteria(scene: Scene, f: Mapping[str, Any], upper: str) -> bool | None:
    """The filter's own criteria, ANDed; None when it has none."""
    getters: dict[str, Callable[[Mapping[str, Any]], bool]] = {
        "id": lambda c: _compare(scene.id, c, 0, "int"),
        "title": lambda c: _string_match(scene.title, c),
        "code": lambda c: _string_match(scene.code, c),
        "details": lambda c: _string_match(scene.details, c),
        "director": lambda c: _string_match(scene.director, c),
        "path": lambda c: _path_match(scene, c),
        "file_count": lambda c: _compare(len(scene.files), c, 0, "int"),
        "rating100": lambda c: _compare(scene.rating100, c, 0, "int"),
        "date": lambda c: _compare(scene.date, c, upper, "date"),
        "created_at": lambda c: _compare(scene.created_at, c, upper, "date"),
        "updated_at": lambda c: _compare(scene.updated_at, c, upper, "date"),
    }
    links: dict[str, list[int]] = {
        "performers": scene.performer_ids, "tags": scene.tag_ids,
        "studios": [scene.studio_id] if scene.studio_id else [],
        "groups": [g for g, _ in scene.groups],
    }
    for key, linked in links.items():
        getters[key] = _links_check(linked, key)
    results = [check(f[key]) for key, check in getters.items() if f.get(key) is not None]
    if f.get("organized") is not None:
        results.append(scene.organized == bool(f["organized"]))
    return all(results) if results else None


def _links_check(linked: list[int], key: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda crit: _links_match(linked, crit, key)


def _links_match(linked: list[int], crit: Mapping[str, Any], key: str) -> bool:
    """(Hierarchical)MultiCriterionInput over the scene's linked ids. Only depth 0 (the
    objects themselves): the fake keeps no tag or studio hierarchy, so deeper is refused."""
    if crit.get("depth") not in (None, 0):
        raise FilterError(f"the fake Stash has no {key} hierarchy: depth must be 0")
    have = set(linked)
    wanted = {int(v) for v in crit.get("value") or []}
    excluded = {int(v) for v in crit.get("excludes") or []}
    if have & excluded:
        return False
    modifier = str(crit["modifier"])
    checks: dict[str, Callable[[], bool]] = {
        "INCLUDES": lambda: bool(have & wanted) or not wanted,
        "INCLUDES_ALL": lambda: wanted <= have,
        "EXCLUDES": lambda: not have & wanted,
        "IS_NULL": lambda: not have,
        "NOT_NULL": lambda: bool(have),
    }
    if modifier not in checks:
        raise FilterError(f"unsupported {key} modifier: {modifier}")
    return checks[modifier]()


def _path_match(scene: Scene, crit: Mapping[str, Any]) -> bool:
    """Stash joins files: a scene matches when one of its files does. INCLUDES/EXCLUDES
    take the whole value as one substring of the path."""
    modifier = crit["modifier"]
    if modifier in ("IS_NULL", "NOT_NULL"):
        return bool((not scene.files) == (modifier == "IS_NULL"))
    if modifier in ("INCLUDES", "EXCLUDES"):
        hit = [_like(f.path, f"%{crit['value']}%") for f in scene.files]
        return any(hit) if modifier == "INCLUDES" else not all(hit)
    return any(_string_match(f.path, crit) for f in scene.files)


def _search_match(scene: Scene, q: str) -> bool:
    fields = [scene.title, scene.details, scene.code, *(f.path for f in scene.files)]
    return all(any(_like(h, f"%{w}%") for h in fields if h) for w in _search_words(q))


# --------------------------------------------------------------------------- sort/page

SORT_KEYS: dict[str, Callable[[Scene], Any]] = {
    "id": lambda s: s.id,
    "title": lambda s: (s.title or (s.primary_file.basename if s.primary_file else "")).casefold(),
    "path": lambda s: s.primary_file.path if s.primary_file else None,
    "date": lambda s: s.date,
    "rating": lambda s: s.rating100,
    "created_at": lambda s: s.created_at,
    "updated_at": lambda s: s.updated_at,
    "duration": lambda s: s.primary_file.duration if s.primary_file else None,
    "filesize": lambda s: s.primary_file.size if s.primary_file else None,
}


def sort_scenes(scenes: Iterable[Scene], sort: str | None, direction: str | None) -> list[Scene]:
    """ORDER BY ``sort`` (NULLs first ASC, last DESC, as SQLite), ties by ascending id."""
    by_id = sorted(scenes, key=lambda s: s.id)
    if not sort:
        return by_id  # Stash adds no ORDER BY: rows come back in id order
    if sort not in SORT_KEYS:
        raise FilterError(f"invalid sort: {sort}")
    key, descending = SORT_KEYS[sort], direction == "DESC"
    buckets: dict[Any, list[Scene]] = {}
    for scene in by_id:
        buckets.setdefault(key(scene), []).append(scene)
    nulls = buckets.pop(None, [])
    ordered = [s for value in sorted(buckets, reverse=descending) for s in buckets[value]]
    return ordered + nulls if descending else nulls + ordered


@dataclass
class SceneQueryResult:
    count: int
    duration: float
    filesize: float
    scenes: list[Scene]


def query_scenes(
    all_scenes: Mapping[int, Scene],
    scene_filter: Mapping[str, Any] | None,
    find_filter: Mapping[str, Any] | None,
    ids: Iterable[int] | None,
    upper: str,
) -> SceneQueryResult:
    """findScenes. Totals (duration, filesize) sum the primary files of all matches."""
    id_list = list(ids or [])
    if id_list:
        missing = [i for i in id_list if i not in all_scenes]
        if missing:
            raise FilterError(f"scene with id {missing[0]} not found")
        rows = [all_scenes[i] for i in id_list]
        return SceneQueryResult(len(rows), _duration(rows), _size(rows), rows)
    ff = find_filter or {}
    matched = [s for s in all_scenes.values() if scene_matches(s, scene_filter, upper)]
    if ff.get("q"):
        matched = [s for s in matched if _search_match(s, str(ff["q"]))]
    ordered = sort_scenes(matched, ff.get("sort"), ff.get("direction"))
    per_page: int = 25 if ff.get("per_page") is None else int(ff["per_page"])
    page: int = max(int(ff.get("page") or 1), 1)
    rows = ordered if per_page < 0 else ordered[(page - 1) * per_page : page * per_page]
    return SceneQueryResult(len(ordered), _duration(ordered), _size(ordered), rows)


def _duration(scenes: Iterable[Scene]) -> float:
    return float(sum(s.primary_file.duration for s in scenes if s.primary_file))


def _size(scenes: Iterable[Scene]) -> float:
    return float(sum(s.primary_file.size for s in scenes if s.primary_file))
