"""Checks Plex requests and the fake Plex's XML answers against the published PMS API spec.

The spec is the community OpenAPI description of Plex Media Server (``LukeHagar/plex-api-spec``),
which CI puts in ``../shared/plex-spec/`` beside the clone. It is read from there, never copied
into this repository; ``spec_dir()`` says where, and ``PlexSpec.load`` raises ``FileNotFoundError``
when it is absent (callers skip).

Two checks, each returning a list of one-line problems (empty: conforms):
- ``PlexSpec.check_request(method, path, pairs)``: the path matches a documented template with
  that method, path parameters fit their schema (an ``enum`` of elements, an integer id), and
  every query key is a documented parameter of that operation, a property of its ``mediaQuery``
  object, or an instance of a documented pattern (``field.value``, ``tagtype[idx].tag.tag``,
  ``tagtype[].tag.tag-`` ...) whose placeholders name documented fields and tag types. Values of
  typed parameters (``BoolInt``, integers, enums) must fit.
- ``PlexSpec.check_response(method, path, status, headers, body)``: for a 200 XML answer, every
  element and attribute is a documented field of that object, spelled with the spec's case, with
  a compatible type (``BoolInt`` and booleans as 0/1, integers, numbers in range, ``date``
  strings, enums); documented paging headers are present and integral.

The spec describes JSON; plexapi (and so PlexSync) speaks XML. ``METADATA_ELEMENTS`` maps the
XML item elements to the JSON ``Metadata`` array. Where the spec and plexapi disagree, PlexSync
follows plexapi, which runs against real servers: ``DISAGREEMENTS`` lists every such case the
checker tolerates, each with why (``docs/plex-api.md`` explains them). Anything not listed fails.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SPEC_FILE = "plex-api-spec.yaml"

#: XML element names PMS uses for the items JSON puts in the ``Metadata`` array.
METADATA_ELEMENTS = frozenset({"Video", "Directory", "Track", "Photo", "Playlist"})

#: Placeholders in documented parameter names (``field.value``, ``tagtype[idx].tag.tag``).
_PLACEHOLDERS = {"field": r"(?P<field>[A-Za-z]+)", "tagtype": r"(?P<tagtype>[A-Za-z]+)",
                 "idx": r"\d+", "object": r"(?P<object>text|thumb|art|theme)"}


@dataclass(frozen=True)
class Disagreement:
    """One place where PlexSync follows plexapi instead of the spec, and why."""

    what: str
    spec_says: str
    plexsync_does: str  # as plexapi does, unless it says otherwise


#: Requests: (method, path regex) → (spec method, spec template) whose parameters apply.
ROUTE_ALIASES: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", r"/library/sections"): ("GET", "/library/sections/all"),
    ("GET", r"/library/sections/\d+/refresh"): ("POST", "/library/sections/{sectionId}/refresh"),
    ("POST", r"/library/metadata/\d+/(?:posters|arts)"):
        ("POST", "/library/metadata/{ids}/{element}"),
    ("GET", r"/library/metadata/\d+/posters"): ("GET", "/library/metadata/{ids}"),
}
#: Trimming keys the spec names in prose only, on ``/status/sessions/history/all`` ("this
#: endpoint supports includeFields, ..."); accepted on any GET (see DISAGREEMENTS).
GENERIC_GET_PARAMS = frozenset({"includeFields", "excludeFields", "includeElements",
                                "excludeElements"})
#: Edit names of tag types PMS uses that the spec's ``Metadata`` does not list as tag arrays.
EXTRA_TAG_TYPES = frozenset({"actor", "collection", "label", "producer"})
#: Query keys an operation takes that its parameter list omits: (spec method, template) → keys.
#: ``id`` selects the items to edit; the operation's own description uses it (``id=42,43``).
EXTRA_PARAMS: dict[tuple[str, str], frozenset[str]] = {
    ("PUT", "/library/sections/{sectionId}/all"): frozenset({"id"}),
}
#: Answers the spec types too loosely: ``GET /`` is documented as a plain MediaContainer of
#: Directory, but the server attributes plexapi reads from it (machineIdentifier, version, ...)
#: are the spec's ``ServerConfiguration``, as in its ``LibrarySections`` response.
RESPONSE_ALIASES: dict[tuple[str, str], str] = {("GET", "/"): "LibrarySections"}
#: Response fields real PMS sends and plexapi reads that the spec leaves out, by object.
EXTRA_FIELDS: dict[str, frozenset[str]] = {
    "MediaContainer": frozenset({"librarySectionID", "librarySectionTitle", "librarySectionUUID"}),
    "Metadata": frozenset({"librarySectionID", "librarySectionTitle", "librarySectionKey",
                           "Collection", "Label", "Producer", "Field", "lastRatedAt",
                           "selected", "provider"}),
    "Field": frozenset({"name", "locked"}),
}
#: Integer-valued extras (everything else in EXTRA_FIELDS is a string or element).
_EXTRA_INTEGERS = frozenset({"librarySectionID", "locked", "lastRatedAt", "selected"})
#: Listing filter fields (the ``mediaQuery`` prose: fields with the operators =, !=, >>=, <<=)
#: that PMS reports in a section's filter Meta but the spec's Metadata does not list.
EXTRA_FILTER_FIELDS = frozenset({"inProgress", "lastRatedAt"})
#: A query key with the head of a media-query operator left on it by form decoding
#: (``viewedAt>=5`` decodes as key ``viewedAt>``, value ``5``).
_OPERATOR_KEY = re.compile(r"([A-Za-z]+)(>>|<<|>|<|!)?")

DISAGREEMENTS: tuple[Disagreement, ...] = (
    Disagreement("list the library sections", "GET /library/sections/all",
                 "GET /library/sections (same MediaContainer of Directory/Location)"),
    Disagreement("scan a folder", "POST /library/sections/{sectionId}/refresh?path=",
                 "GET /library/sections/{id}/refresh?path= (LibrarySection.update)"),
    Disagreement("upload a poster or background",
                 "POST /library/metadata/{ids}/{element}, element one of thumb, art, poster, ...",
                 "POST /library/metadata/{rk}/posters and /arts (uploadPoster, uploadArt)"),
    Disagreement("list an item's posters",
                 "no GET of /library/metadata/{ids}/posters (only POST/PUT of {element})",
                 "GET /library/metadata/{rk}/posters (plexapi's posters()): a MediaContainer "
                 "of Photo items with selected=0/1 and provider, ratingKey upload://posters/..."),
    Disagreement("page a listing", "X-Plex-Container-Start/-Size as query parameters",
                 "the same names as request headers, as plexapi sends them"),
    Disagreement("trim a listing", "includeFields/excludeFields/includeElements/excludeElements "
                 "documented in prose on one endpoint only",
                 "PlexSync (not plexapi) trims the section listing with excludeFields/"
                 "excludeElements; a server that ignored them would only send a larger page"),
    Disagreement("item elements", "JSON array Metadata",
                 "XML elements named by kind: Video (movies), Directory, Track, Photo"),
    Disagreement("tag types", "Metadata lists Genre, Role, Director, Writer, Country, ...",
                 "PMS also sends Collection, Label, Producer; edits name Role 'actor'"),
    Disagreement("locks", "no field lists what is locked",
                 "<Field name=... locked=1/> children of an item (plexapi isLocked)"),
    Disagreement("choose the items to edit", "PUT .../all lists no id parameter (its "
                 "description's examples use id=42,43)", "id=<ratingKey> on every edit"),
    Disagreement("server root", "GET / answers a MediaContainer of Directory",
                 "plexapi reads the ServerConfiguration attributes (machineIdentifier, version) "
                 "from GET /"),
    Disagreement("read the playback history since a time",
                 "viewedAt documented as an integer parameter 'typically of the form "
                 "viewedAt>=12456789'", "viewedAt>=<epoch>, as plexapi's history(mindate=)"),
    Disagreement("filter a listing by play state or rating",
                 "mediaQuery prose: any field with =, !=, >>=, <<=; its object lists none",
                 "inProgress=1 and lastRatedAt>>=<epoch> (filter fields PMS reports in its "
                 "Meta, plexapi's search filters); lastRatedAt is also read from items"),
    Disagreement("section of an item",
                 "MediaContainer has identifier, offset, size, totalSize only",
                 "librarySectionID (and -Title, -UUID, -Key) on the container and the item; "
                 "plexapi's edits need librarySectionID"),
)


def spec_dir() -> Path:
    """Where CI puts the spec: ``shared/plex-spec`` beside the repository's folder. In a git
    worktree, beside the main checkout's folder too (a worktree's ``.git`` is a file naming
    ``<main>/.git/worktrees/<name>``). The first that exists; else the CI location."""
    candidates = [REPO.parent / "shared" / "plex-spec"]
    git = REPO / ".git"
    if git.is_file():
        text = git.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            main = Path(text.split(":", 1)[1].strip()).parents[2]
            candidates.append(main.parent / "shared" / "plex-spec")
    found = next((c for c in candidates if (c / SPEC_FILE).is_file()), candidates[0])
    return found.resolve()


@dataclass(frozen=True)
class _Operation:
    method: str
    template: str
    op: Mapping[str, Any]
    via: str  # "" or the reason an alias led here


class PlexSpec:
    """The loaded spec and the two checks. Build with ``PlexSpec.load()`` (cached)."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        self._paths: list[tuple[re.Pattern[str], str]] = []
        for template in doc["paths"]:
            parts = re.split(r"(\{[A-Za-z]+\})", template)
            regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p)
                            for p in parts)
            self._paths.append((re.compile(regex), template))
        self._aliases = [(m, re.compile(rx), target) for (m, rx), target in ROUTE_ALIASES.items()]
        metadata = self.properties(self.schema("Metadata"))
        self.tag_types = frozenset(
            name.lower() for name, prop in metadata.items()
            if prop.get("type") == "array" and self._ref_name(prop.get("items", {})) == "Tag"
        ) | EXTRA_TAG_TYPES
        self.metadata_fields = frozenset(n for n, p in metadata.items() if p.get("type") != "array")

    @staticmethod
    @cache
    def load(directory: str | None = None) -> PlexSpec:
        path = Path(directory) if directory else spec_dir()
        with (path / SPEC_FILE).open(encoding="utf-8") as fh:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            return PlexSpec(yaml.load(fh, Loader=loader))  # a safe loader

    # ------------------------------------------------------------------ schema plumbing
    def schema(self, name: str) -> Mapping[str, Any]:
        schema: Mapping[str, Any] = self.doc["components"]["schemas"][name]
        return schema

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    @staticmethod
    def _ref_name(node: Mapping[str, Any]) -> str:
        ref = node.get("$ref", "")
        return str(ref).rsplit("/", 1)[-1]

    def properties(self, node: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        """A schema's properties, with ``$ref`` and ``allOf`` folded in."""
        node = self.resolve(node)
        props: dict[str, Mapping[str, Any]] = {}
        for part in node.get("allOf", []):
            props.update(self.properties(part))
        for name, prop in node.get("properties", {}).items():
            props[name] = prop
        return props

    # ------------------------------------------------------------------ requests
    def operation(self, method: str, path: str) -> _Operation | list[str]:
        """The documented operation a request is for, or the problems finding one."""
        for alias_method, regex, (spec_method, template) in self._aliases:
            if alias_method == method and regex.fullmatch(path):
                op = self.doc["paths"][template][spec_method.lower()]
                return _Operation(spec_method, template, op, f"plexapi's {method} {path}")
        matches = [(template, m) for rx, template in self._paths if (m := rx.fullmatch(path))]
        if not matches:
            return [f"{method} {path}: no documented path template matches"]
        # The most literal template wins (/library/sections/all over /library/sections/{id}).
        matches.sort(key=lambda tm: -len(re.sub(r"\{[^}]+\}", "", tm[0])))
        problems = []
        for template, match in matches:
            op = self.doc["paths"][template].get(method.lower())
            if op is None:
                problems.append(f"{method} {path}: {template} documents no {method}")
                continue
            bad = list(self._check_path_params(op, match.groupdict(), method, path))
            if not bad:
                return _Operation(method, template, op, "")
            problems.extend(bad)
        return problems

    def _parameters(self, op: Mapping[str, Any], template: str) -> list[Mapping[str, Any]]:
        params = [*self.doc["paths"][template].get("parameters", []), *op.get("parameters", [])]
        return [self.resolve(p) for p in params]

    def _check_path_params(self, op: Mapping[str, Any], values: Mapping[str, str], method: str,
                           path: str) -> Iterable[str]:
        params = {p["name"]: p for p in (self.resolve(x) for x in op.get("parameters", []))
                  if p.get("in") == "path"}
        for name, value in values.items():
            schema = self.resolve(params.get(name, {}).get("schema", {}))
            problem = _value_problem(self, schema, value)
            if problem:
                yield f"{method} {path}: path parameter {name}={value!r} {problem}"

    def check_request(self, method: str, path: str,
                      pairs: Iterable[tuple[str, str]]) -> list[str]:
        found = self.operation(method, path)
        if isinstance(found, list):
            return found
        params = self._parameters(found.op, found.template)
        query = {p["name"]: p for p in params if p.get("in") == "query"}
        objects = [p for p in query.values() if p.get("explode") and self.properties(
            p.get("schema", {}))]
        patterns = [(re.compile(_pattern(name)), p) for name, p in query.items()
                    if any(ph in re.split(r"[.\[\]]", name) for ph in _PLACEHOLDERS)]
        problems = []
        where = f"{method} {path}" + (f" (as {found.method} {found.template})" if found.via else "")
        for key, value in pairs:
            problem = self._check_param(key, value, query, objects, patterns, method,
                                        EXTRA_PARAMS.get((found.method, found.template),
                                                         frozenset()))
            if problem:
                problems.append(f"{where}: query {key}={value!r}: {problem}")
        return problems

    def _check_param(self, key: str, value: str, query: Mapping[str, Mapping[str, Any]],
                     objects: list[Mapping[str, Any]],
                     patterns: list[tuple[re.Pattern[str], Mapping[str, Any]]],
                     method: str, extra: frozenset[str] = frozenset()) -> str | None:
        if key in extra:
            return None
        if key in query:
            return _value_problem(self, self.resolve(query[key].get("schema", {})), value)
        for obj in objects:
            prop = self.properties(obj.get("schema", {})).get(key)
            if prop is not None:
                return _value_problem(self, self.resolve(prop), value)
        if method == "GET" and key in GENERIC_GET_PARAMS:
            return None
        operated = _OPERATOR_KEY.fullmatch(key)
        if operated is not None:
            name, op = operated[1], operated[2] or ""
            if op and name in query:   # `viewedAt>=N`: the documented form of viewedAt
                return _value_problem(self, self.resolve(query[name].get("schema", {})), value)
            if objects and (name in self.metadata_fields or name in EXTRA_FILTER_FIELDS):
                return None if re.fullmatch(r"-?\d+", value) else "is not an integer filter value"
        for regex, param in patterns:
            match = regex.fullmatch(key)
            if match is None:
                continue
            groups = match.groupdict()
            tagtype = groups.get("tagtype")
            if tagtype is not None and tagtype not in self.tag_types:
                return f"{tagtype!r} is not a documented tag type"
            field = groups.get("field")
            if field is not None and field not in self.metadata_fields | self.tag_types:
                return f"{field!r} is not a documented Metadata field or tag type"
            return _value_problem(self, self.resolve(param.get("schema", {})), value)
        return "not a documented parameter of this operation"

    # ------------------------------------------------------------------ responses
    def response_schema(self, method: str, path: str) -> Mapping[str, Any] | None:
        """The ``MediaContainer`` schema of an operation's 200 JSON answer (None: none)."""
        found = self.operation(method, path)
        if isinstance(found, list):
            return None
        alias = RESPONSE_ALIASES.get((found.method, found.template))
        response = (self.doc["components"]["responses"][alias] if alias else
                    self.resolve(found.op.get("responses", {}).get("200", {})))
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return None
        return self.properties(schema).get("MediaContainer")

    def check_response(self, method: str, path: str, status: int, headers: Mapping[str, str],
                       body: bytes) -> list[str]:
        if status != 200:
            return []
        found = self.operation(method, path)
        if isinstance(found, list):
            return []  # check_request reports it
        response = self.resolve(found.op.get("responses", {}).get("200", {}))
        where = f"{method} {path}"
        problems = list(self._check_headers(response, headers, where))
        container = self.response_schema(method, path)
        if container is None:
            if body.strip().startswith(b"<MediaContainer") or b"<MediaContainer" in body[:200]:
                problems.append(f"{where}: answers a MediaContainer the spec does not document")
            return problems
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            return [*problems, f"{where}: answer is not XML ({exc})"]
        if root.tag != "MediaContainer":
            return [*problems, f"{where}: root element <{root.tag}>, not <MediaContainer>"]
        problems.extend(self._check_element(root, container, "MediaContainer", where))
        return problems

    def _check_headers(self, response: Mapping[str, Any], headers: Mapping[str, str],
                       where: str) -> Iterable[str]:
        lower = {k.lower(): v for k, v in headers.items()}
        for name in response.get("headers", {}):
            value = lower.get(name.lower())
            if value is None:
                yield f"{where}: no {name} header (the spec documents it)"
            elif not re.fullmatch(r"\d+", value):
                yield f"{where}: header {name}={value!r} is not an integer"

    def _check_element(self, elem: ET.Element, schema: Mapping[str, Any], obj: str,
                       where: str) -> Iterable[str]:
        props = self.properties(schema)
        extras = EXTRA_FIELDS.get(obj, frozenset())
        at = f"{where}: <{elem.tag}>"
        for name, value in elem.attrib.items():
            prop = props.get(name)
            if prop is None:
                if name in extras:
                    if name in _EXTRA_INTEGERS and not re.fullmatch(r"-?\d+", value):
                        yield f"{at} {name}={value!r} is not an integer"
                    continue
                yield f"{at} attribute {name!r} is not a documented field of {obj}" + _case_hint(
                    name, [*props, *extras])
                continue
            problem = _value_problem(self, self.resolve(prop), value)
            if problem:
                yield f"{at} {name}={value!r} {problem}"
        for child in elem:
            name = child.tag
            if name in METADATA_ELEMENTS and name not in props and "Metadata" in props:
                name = "Metadata"
            prop = props.get(name)
            if prop is None:
                if name in extras:
                    child_obj = name if name in EXTRA_FIELDS else "Tag"
                    child_schema = ({} if child_obj in EXTRA_FIELDS else self.schema("Tag"))
                    yield from self._check_element(child, child_schema, child_obj, where)
                    continue
                yield f"{at} child <{child.tag}> is not a documented field of {obj}" + _case_hint(
                    name, [*props, *extras])
                continue
            prop = self.resolve(prop)
            item = self.resolve(prop.get("items", {})) if prop.get("type") == "array" else prop
            child_obj = self._ref_name(prop.get("items", {})) or name
            if not self.properties(item):
                yield f"{at} child <{child.tag}>: the spec's {name} is not an object"
                continue
            yield from self._check_element(child, item, child_obj, where)


def _pattern(name: str) -> str:
    """A documented parameter name with placeholders → a regex for concrete keys."""
    out = []
    for token in re.split(r"(field|tagtype|idx|object)", name):
        out.append(_PLACEHOLDERS[token] if token in _PLACEHOLDERS else re.escape(token))
    return "".join(out)


def _case_hint(name: str, props: Iterable[str]) -> str:
    same = [p for p in props if p.lower() == name.lower()]
    return f" (the spec spells it {same[0]!r})" if same else ""


def _value_problem(spec: PlexSpec, schema: Mapping[str, Any], text: str) -> str | None:
    """Why ``text`` (an XML attribute or query value) does not fit ``schema``, or None."""
    schema = spec.resolve(schema)
    for part in schema.get("allOf", []):
        problem = _value_problem(spec, part, text)
        if problem:
            return problem
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    enum = schema.get("enum")
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", text):
            return "is not an integer"
        number: float = int(text)
    elif kind == "number":
        try:
            number = float(text)
        except ValueError:
            return "is not a number"
    elif kind == "boolean":
        # PMS's XML writes booleans as 1/0 (plexapi's cast accepts true/false too).
        return None if text in ("0", "1", "true", "false") else "is not a boolean (0/1)"
    else:
        if enum is not None and text not in [str(e) for e in enum]:
            return f"is not one of {enum}"
        if schema.get("format") == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return "is not a YYYY-MM-DD date"
        return None
    if enum is not None and number not in enum:
        return f"is not one of {enum}"
    if "minimum" in schema and number < schema["minimum"]:
        return f"is below the minimum {schema['minimum']}"
    if "maximum" in schema and number > schema["maximum"]:
        return f"is above the maximum {schema['maximum']}"
    return None
