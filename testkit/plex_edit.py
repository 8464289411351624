"""The fake Plex's edit contract, ``PUT /library/sections/{id}/all`` (see ``testkit.fake_plex``).

``parse_edit`` validates a whole edit query before anything changes and raises ``HTTPError``
400 on any junk: unknown keys, bad values, duplicate keys, a missing ``type=`` or ``id=``.
``apply_edit`` then applies the resulting ``EditPlan`` to an item. The wire keys are
``f.value`` (``''`` clears), ``f.locked=0|1`` (also tag kinds, ``thumb``, ``art``),
``tag[i].tag.tag`` (replaces that kind's list), ``tag[].tag.tag-=a,b`` (removes; each value
quoted, then comma-joined), ``tag[].tag`` (removes every association of that kind; the spec
gives its value no meaning, so any value is taken) and ``actor[i].tagging.text`` (the role).
Clears apply first, then adds, then removes. Checking ``type`` and ``id`` against the
section's items is ``FakePlex``'s job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from testkit.plex_http import HTTPError, parse_float, parse_int
from testkit.plex_state import FIELDS, LOCKABLE, TAG_KINDS, ItemState

_TAG_KEY = re.compile(r"([A-Za-z]+)\[(\d*)\]\.tag\.tag(-?)")
_CLEAR_KEY = re.compile(r"([A-Za-z]+)\[\]\.tag")
_TAGGING_KEY = re.compile(r"actor\[(\d+)\]\.tagging\.text")
_FIELD_KEY = re.compile(r"([A-Za-z]+)\.(value|locked)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2})?")


@dataclass
class EditPlan:
    values: dict[str, Any] = field(default_factory=dict)  # ItemState attribute → new value
    locks: dict[str, bool] = field(default_factory=dict)
    replace: dict[str, list[str]] = field(default_factory=dict)
    remove: dict[str, list[str]] = field(default_factory=dict)
    characters: dict[str, str] = field(default_factory=dict)
    clear: set[str] = field(default_factory=set)  # tag kinds whose every association goes

    def is_empty(self) -> bool:
        return not (self.values or self.locks or self.replace or self.remove or self.clear)


def parse_edit(pairs: Iterable[tuple[str, str]]) -> tuple[int, list[int], EditPlan]:
    """Validate a whole edit query before anything is applied (400 on any junk)."""
    plan = EditPlan()
    type_num: int | None = None
    ids: list[int] | None = None
    adds: dict[str, dict[int, str]] = {}
    characters: dict[int, str] = {}
    seen: set[str] = set()
    for key, value in pairs:
        if key in seen:
            raise HTTPError(400, f"duplicate key {key}")
        seen.add(key)
        if key == "X-Plex-Token":
            continue
        if key == "type":
            type_num = parse_int(value, "type")
        elif key == "id":
            ids = [parse_int(part, "id") for part in value.split(",")]
        elif tag := _TAG_KEY.fullmatch(key):
            kind, index, minus = tag.groups()
            if kind not in TAG_KINDS:
                raise HTTPError(400, f"unknown tag kind {kind!r}")
            if minus and index == "":
                plan.remove[kind] = [unquote(v) for v in value.split(",") if v]
            elif not minus and index != "":
                adds.setdefault(kind, {})[int(index)] = value
            else:
                raise HTTPError(400, f"malformed tag key {key}")
        elif clear := _CLEAR_KEY.fullmatch(key):
            if clear[1] not in TAG_KINDS:
                raise HTTPError(400, f"unknown tag kind {clear[1]!r}")
            plan.clear.add(clear[1])
        elif tagging := _TAGGING_KEY.fullmatch(key):
            characters[int(tagging[1])] = value
        elif fld := _FIELD_KEY.fullmatch(key):
            name, part = fld.groups()
            if part == "locked":
                if name not in LOCKABLE:
                    raise HTTPError(400, f"{name} cannot be locked")
                if value not in ("0", "1"):
                    raise HTTPError(400, f"{key} must be 0 or 1")
                plan.locks[name] = value == "1"
            elif name in FIELDS:
                plan.values.update(_field_value(name, value))
            else:
                raise HTTPError(400, f"unknown field {name!r}")
        else:
            raise HTTPError(400, f"unknown edit key {key!r}")
    if type_num is None or ids is None:
        raise HTTPError(400, "edit needs type= and id=")
    for kind, indexed in adds.items():
        values = [indexed[i] for i in sorted(indexed) if indexed[i]]
        plan.replace[kind] = list(dict.fromkeys(values))
    for index, character in characters.items():
        actor = adds.get("actor", {}).get(index)
        if actor is None:
            raise HTTPError(400, f"actor[{index}].tagging.text without actor[{index}].tag.tag")
        plan.characters[actor] = character
    return type_num, ids, plan


def _field_value(name: str, value: str) -> dict[str, Any]:
    attr, kind = FIELDS[name]
    if kind == "title":
        if not value.strip():
            raise HTTPError(400, "title cannot be empty")
        return {attr: value}
    if kind == "text":
        return {attr: value or None}
    if value == "" and kind != "timestamp":
        return {attr: None}
    if kind == "year":
        year = parse_int(value, name)
        if not 1000 <= year <= 9999:
            raise HTTPError(400, f"{name} must be a four-digit year")
        return {attr: year}
    if kind == "date":
        if not _DATE.fullmatch(value):
            raise HTTPError(400, f"{name} must be YYYY-MM-DD")
        try:
            datetime.strptime(value[:10], "%Y-%m-%d")
        except ValueError:
            raise HTTPError(400, f"{name}: invalid date {value!r}") from None
        # Whether real PMS also sets `year` from this date is unverified: the fake does not, so
        # a client that wants the year must send `year.value` (plexapi's editYear) itself.
        return {attr: value[:10]}
    if kind == "rating":
        rating = parse_float(value, name)
        if not 0 <= rating <= 10:
            raise HTTPError(400, f"{name} must be within 0..10")
        return {attr: rating}
    return {attr: parse_int(value, name)}  # timestamp


def apply_edit(item: ItemState, plan: EditPlan) -> None:
    for kind in plan.clear:
        item.tags[kind] = []
        if kind == "actor":
            item.roles = {}
    for kind, values in plan.replace.items():
        item.tags[kind] = list(values)
        if kind == "actor":
            item.roles = {a: item.roles[a] for a in values if a in item.roles}
    item.roles.update(plan.characters)
    for kind, values in plan.remove.items():
        gone = set(values)
        item.tags[kind] = [t for t in item.tags[kind] if t not in gone]
        if kind == "actor":
            item.roles = {a: c for a, c in item.roles.items() if a not in gone}
    for attr, value in plan.values.items():
        setattr(item, attr, value)
    for name, locked in plan.locks.items():
        if locked:
            item.locked.add(name)
        else:
            item.locked.discard(name)
