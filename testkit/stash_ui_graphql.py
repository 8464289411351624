"""GraphQL for the Stash UI test server (testkit/stash_ui.py): Stash's real schema, answered
the way Stash answers a fresh install.

Stash's frontend sends dozens of documents while it boots and renders (Configuration, Plugins,
SystemStatus, Version, the front page's finds, ...), each selecting far more fields than the
fake Stash's resolvers know. They are validated against the real schema
(`../shared/stash-schema/`, as CI has it) and executed with `zero_value_resolver`: a field the
resolvers did not supply gets what Stash's Go resolvers give for an unset value:
- a nullable field: null;
- a non-null scalar: Go's zero value ("", 0, false; the first value of an enum; {} for Map);
- a non-null list: [];
- a non-null object: an object whose own fields resolve the same way.
So a find on an empty library answers `{count: 0, <items>: []}` and the configuration answers
Stash's zero defaults; the resolvers supply only what a fresh Stash would not answer with zero
values (interface menu items, the plugin list, the system status, jobs).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLType,
    build_schema,
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT.parent / "shared" / "stash-schema"
# Stash's default main-menu entries (internal/manager/config: defaultMenuItems, movies -> groups).
MENU_ITEMS = ["scenes", "images", "groups", "markers", "galleries", "performers", "studios",
              "tags"]
SCALAR_ZEROS: dict[str, Any] = {"String": "", "ID": "", "Int": 0, "Int64": 0, "Float": 0.0,
                                "Boolean": False, "Map": {}, "BoolMap": {},
                                "PluginConfigMap": {}, "Time": "0001-01-01T00:00:00Z",
                                "Timestamp": "0001-01-01T00:00:00Z"}


class SchemaMissing(RuntimeError):
    """Stash's schema is not beside the checkout (CI has it at ../shared/stash-schema)."""


@cache
def real_schema() -> GraphQLSchema:
    """Stash's schema from ../shared/stash-schema (schema.graphql + types/*.graphql)."""
    if not (SCHEMA_DIR / "schema.graphql").is_file():
        raise SchemaMissing(f"Stash's GraphQL schema is not at {SCHEMA_DIR}: put Stash's "
                            "graphql/schema folder there (CI checks it out beside the repo).")
    parts = [SCHEMA_DIR / "schema.graphql", *sorted((SCHEMA_DIR / "types").glob("*.graphql"))]
    return build_schema("\n".join(p.read_text(encoding="utf-8") for p in parts))


def zero_value(gql_type: GraphQLType) -> Any:
    """What Stash answers for an unset value of this type (see the module docstring)."""
    if not isinstance(gql_type, GraphQLNonNull):
        return None
    inner = gql_type.of_type
    if isinstance(inner, GraphQLList):
        return []
    if isinstance(inner, GraphQLEnumType):
        return next(iter(inner.values.values())).value
    if isinstance(inner, GraphQLScalarType):
        return SCALAR_ZEROS.get(inner.name, "")
    if isinstance(inner, GraphQLObjectType):
        return {}
    raise TypeError(f"no zero value for the abstract type {inner}: a resolver must supply it")


def zero_value_resolver(source: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
    """graphql-core's default resolver (a key of a dict source; a callable is called with
    `info` and the arguments), with the zero value where the source has nothing."""
    value = source.get(info.field_name) if isinstance(source, dict) else getattr(
        source, info.field_name, None)
    if callable(value):
        return value(info, **args)
    if value is None:
        return zero_value(info.return_type)
    return value


def interface_config() -> dict[str, Any]:
    """`configuration.interface` as a fresh Stash answers it: its defaults that are not zero."""
    return {"menuItems": list(MENU_ITEMS), "language": "en-GB", "soundOnPreview": False,
            "wallShowTitle": True, "wallPlayback": "video", "maximumLoopDuration": 0,
            "autostartVideo": False, "showStudioAsText": False, "noBrowser": False,
            "notificationsEnabled": False, "imageLightbox": {}, "disableDropdownCreate": {}}


def plugin_object(manifest_path: Path, base_url: str, *, enabled: bool) -> dict[str, Any]:
    """The `plugins` entry Stash builds from a plugin's manifest (pkg/plugin/config.go,
    internal/api/resolver_model_plugin.go): id = the manifest's basename, paths =
    `<base>/plugin/<id>/javascript|css` when the manifest lists local UI files."""
    manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    plugin_id = manifest_path.stem
    ui = manifest.get("ui") or {}

    def paths(kind: str) -> list[str]:
        files = ui.get(kind) or []
        external = [f for f in files if str(f).startswith(("http://", "https://"))]
        local = [f for f in files if f not in external]
        return external + ([f"{base_url}/plugin/{plugin_id}/{kind}"] if local else [])

    settings = manifest.get("settings") or {}
    return {
        "id": plugin_id, "name": manifest.get("name", plugin_id),
        "description": manifest.get("description"), "url": manifest.get("url"),
        "version": manifest.get("version"), "enabled": enabled,
        "tasks": [{"name": t["name"], "description": t.get("description")}
                  for t in manifest.get("tasks") or []],
        "hooks": [{"name": h["name"], "description": h.get("description"),
                   "hooks": h.get("triggeredBy")} for h in manifest.get("hooks") or []],
        "settings": [{"name": k, "display_name": v.get("displayName"),
                      "description": v.get("description"), "type": v.get("type", "STRING")}
                     for k, v in settings.items()],
        "requires": ui.get("requires") or [],
        "paths": {"javascript": paths("javascript"), "css": paths("css")},
    }  # fmt: skip


def local_ui_files(manifest_path: Path, kind: str) -> list[Path]:
    """The manifest's local `ui.<kind>` files, relative to it, in order."""
    manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    files = (manifest.get("ui") or {}).get(kind) or []
    return [manifest_path.parent / f for f in files
            if not str(f).startswith(("http://", "https://"))]
