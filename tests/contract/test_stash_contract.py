"""Contract with Stash's real GraphQL schema (SPEC §11).

Checks three things against the schema in ``../shared/stash-schema/`` (schema.graphql +
types/*.graphql). CI provides that folder; it is never copied into this repository.

(a) ``testkit/stash_subset.graphql``, the schema the fake Stash serves, is a true subset
    of the real schema: the same types, fields, arguments, input fields and enum values,
    with the same type signatures and deprecations. The fake cannot drift from Stash.
(b) Every document stashapp-tools sends in a representative session against the fake
    validates against the real schema, with its variables.
(c) Every document the plugin sends (``plexsync.gql.DOCUMENTS``) validates against the
    real schema and uses nothing deprecated. That includes the document the hook posts as
    raw HTTP.

Tests that need the real schema skip when the folder is absent.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
    build_schema,
    get_operation_ast,
    parse,
    specified_rules,
    specified_scalar_types,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.pyutils import Undefined
from graphql.validation import NoDeprecatedCustomRule
from stashapi.stashapp import StashInterface

from testkit.fake_stash import FakeStash, GqlRecord, load_schema

REPO = Path(__file__).resolve().parents[2]
STASH_SCHEMA_DIR = REPO / ".." / "shared" / "stash-schema"
SUBSET = load_schema()
SUBSET_TYPES = sorted(
    name
    for name in SUBSET.type_map
    if not name.startswith("__") and name not in specified_scalar_types
)


@pytest.fixture(scope="module")
def real_schema() -> GraphQLSchema:
    root = STASH_SCHEMA_DIR.resolve()
    if not (root / "schema.graphql").is_file():
        pytest.skip(
            f"Stash's real GraphQL schema is not at {root} (looked for ../shared/stash-schema/"
            "schema.graphql relative to the repository root). CI provides that folder and the "
            "project does not copy Stash's schema into its own tree, so the contract can only "
            "be checked where it exists."
        )
    parts = [root / "schema.graphql", *sorted((root / "types").glob("*.graphql"))]
    return build_schema("\n".join(p.read_text(encoding="utf-8") for p in parts))


# ----------------------------------------------------------------------------- (a) subset


_KINDS: tuple[type[GraphQLNamedType], ...] = (
    GraphQLObjectType,
    GraphQLInterfaceType,
    GraphQLInputObjectType,
    GraphQLEnumType,
    GraphQLUnionType,
    GraphQLScalarType,
)


def _kind(named: GraphQLNamedType) -> str:
    return next((k.__name__ for k in _KINDS if isinstance(named, k)), type(named).__name__)


def _required(arg_or_field: Any) -> bool:
    """Non-null with no default: a document that omits it is invalid."""
    return isinstance(arg_or_field.type, GraphQLNonNull) and arg_or_field.default_value is Undefined


def _diff_type(name: str, mine: GraphQLNamedType, real: GraphQLNamedType) -> Iterator[str]:
    if _kind(mine) != _kind(real):
        yield f"{name}: is a {_kind(mine)} here but a {_kind(real)} in Stash"
        return
    if isinstance(mine, GraphQLObjectType | GraphQLInterfaceType):
        assert isinstance(real, GraphQLObjectType | GraphQLInterfaceType)
        real_ifaces = {i.name for i in real.interfaces}
        for iface in mine.interfaces:
            if iface.name not in real_ifaces:
                yield f"{name}: implements {iface.name}, which Stash's {name} does not"
        for fname, f in mine.fields.items():
            rf = real.fields.get(fname)
            if rf is None:
                yield f"{name}.{fname}: no such field in Stash"
                continue
            if str(f.type) != str(rf.type):
                yield f"{name}.{fname}: type {f.type} here, {rf.type} in Stash"
            if f.deprecation_reason != rf.deprecation_reason:
                yield f"{name}.{fname}: deprecation differs from Stash"
            for aname, a in f.args.items():
                ra = rf.args.get(aname)
                if ra is None:
                    yield f"{name}.{fname}({aname}): no such argument in Stash"
                    continue
                if str(a.type) != str(ra.type):
                    yield f"{name}.{fname}({aname}): type {a.type} here, {ra.type} in Stash"
                if a.default_value != ra.default_value:
                    yield f"{name}.{fname}({aname}): default value differs from Stash"
                if a.deprecation_reason != ra.deprecation_reason:
                    yield f"{name}.{fname}({aname}): deprecation differs from Stash"
            for aname, ra in rf.args.items():
                if _required(ra) and aname not in f.args:
                    yield f"{name}.{fname}: Stash requires argument {aname}: {ra.type}"
    elif isinstance(mine, GraphQLInputObjectType):
        assert isinstance(real, GraphQLInputObjectType)
        for fname, f in mine.fields.items():
            rf = real.fields.get(fname)
            if rf is None:
                yield f"{name}.{fname}: no such input field in Stash"
                continue
            if str(f.type) != str(rf.type):
                yield f"{name}.{fname}: type {f.type} here, {rf.type} in Stash"
            if f.default_value != rf.default_value:
                yield f"{name}.{fname}: default differs from Stash"
            if f.deprecation_reason != rf.deprecation_reason:
                yield f"{name}.{fname}: deprecation differs from Stash"
        for fname, rf in real.fields.items():
            if _required(rf) and fname not in mine.fields:
                yield f"{name}: Stash requires input field {fname}: {rf.type}"
    elif isinstance(mine, GraphQLEnumType):
        assert isinstance(real, GraphQLEnumType)
        for vname, v in mine.values.items():
            rv = real.values.get(vname)
            if rv is None:
                yield f"{name}.{vname}: no such enum value in Stash"
            elif v.deprecation_reason != rv.deprecation_reason:
                yield f"{name}.{vname}: deprecation differs from Stash"
    elif isinstance(mine, GraphQLUnionType):
        assert isinstance(real, GraphQLUnionType)
        real_members = {t.name for t in real.types}
        for member in mine.types:
            if member.name not in real_members:
                yield f"{name}: member {member.name} is not in Stash's union"


@pytest.mark.parametrize("type_name", SUBSET_TYPES)
def test_subset_type_has_the_same_names_and_signatures_as_stash(
    real_schema: GraphQLSchema, type_name: str
) -> None:
    real = real_schema.type_map.get(type_name)
    assert real is not None, f"{type_name} is in stash_subset.graphql but not in Stash's schema"
    problems = list(_diff_type(type_name, SUBSET.type_map[type_name], real))
    assert not problems, "stash_subset.graphql drifted from Stash:\n" + "\n".join(problems)


def test_subset_root_types_are_stashs_root_types(real_schema: GraphQLSchema) -> None:
    assert SUBSET.query_type is not None and real_schema.query_type is not None
    assert SUBSET.mutation_type is not None and real_schema.mutation_type is not None
    assert SUBSET.query_type.name == real_schema.query_type.name
    assert SUBSET.mutation_type.name == real_schema.mutation_type.name


# ----------------------------------------------------------------------------- validation


def _validation_errors(
    schema: GraphQLSchema,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    no_deprecated: bool = False,
) -> list[str]:
    ast = parse(document)
    rules = [*specified_rules, NoDeprecatedCustomRule] if no_deprecated else None
    errors = [e.message for e in validate(schema, ast, rules)]
    if errors or variables is None:
        return errors
    operation = get_operation_ast(ast)
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    return [e.message for e in coerced] if isinstance(coerced, list) else []


# ----------------------------------------------------------------------------- (b) stashapi


@pytest.fixture(scope="module")
def stashapi_session() -> Iterator[list[GqlRecord]]:
    """A representative stashapp-tools session against the fake; the documents it sent."""
    with FakeStash() as fake:
        studio = fake.add_studio("Northlight")
        performer = fake.add_performer("Ada Lovelace")
        tag = fake.add_tag("Drama")
        group = fake.add_group("Series One")
        scene_id = fake.add_scene(
            title="One",
            studio_id=studio,
            performer_ids=[performer],
            tag_ids=[tag],
            group_ids=[group],
            files=[{"path": "/data/a/one.mp4", "size": 10, "duration": 5.0}],
        )
        fake.add_scene(title="Two", files=[{"path": "/data/b/two.mp4", "size": 20, "duration": 6}])
        stash = StashInterface(fake.server_connection())
        paging = {"page": 1, "per_page": 1, "sort": "id", "direction": "ASC"}
        stash.find_scenes({}, paging, get_count=True)
        stash.find_scenes(
            {"updated_at": {"value": "2000-01-01T00:00:00Z", "modifier": "GREATER_THAN"}},
            {"per_page": 50},
        )
        stash.find_scene(scene_id)
        stash.find_scene(
            scene_id,
            fragment="id title studio{name} performers{name} tags{name} "
            "files{path size duration} paths{screenshot}",
        )
        stash.get_configuration()
        stash.find_plugin_config("PlexSync")
        stash.find_plugin_config("PlexSync", defaults={"enabled": True})
        stash.configure_plugin("PlexSync", {"plex_url": "http://plex:32400"})
        stash.run_plugin_task("PlexSync", "Process Queue", args={"mode": "process_queue"})
        stash.update_scene({"id": scene_id, "title": "One (edited)"})
        yield fake.requests


def test_stashapi_session_reaches_every_operation_it_is_meant_to(
    stashapi_session: list[GqlRecord],
) -> None:
    names = {r.name for r in stashapi_session}
    expected = {
        "StashVersion",
        "getApiKey",
        "FindScenes",
        "FindScene",
        "Configuration",
        "FindPluginConfig",
        "ConfigurePlugin",
        "RunPluginTask",
        "sceneUpdate",
    }
    assert expected <= names
    assert any("__schema" in r.query for r in stashapi_session), "no introspection query"
    assert [r for r in stashapi_session if r.status != 200] == []


def test_every_document_stashapi_sends_validates_against_stashs_schema(
    real_schema: GraphQLSchema, stashapi_session: list[GqlRecord]
) -> None:
    problems = {
        r.name or r.query[:60]: errors
        for r in stashapi_session
        if (errors := _validation_errors(real_schema, r.query, r.variables))
    }
    assert problems == {}


# ----------------------------------------------------------------------------- (c) plugin


def _plugin_gql_module() -> ModuleType | None:
    try:
        return importlib.import_module("plexsync.gql")
    except ModuleNotFoundError as err:
        if err.name in ("plexsync", "plexsync.gql"):
            return None
        raise


def _plugin_documents() -> dict[str, str]:
    module = _plugin_gql_module()
    if module is None:
        pytest.skip(
            "plexsync/gql.py does not exist yet: the plugin keeps every GraphQL document it "
            "sends in plexsync.gql.DOCUMENTS, and this test validates them once it exists"
        )
    documents = getattr(module, "DOCUMENTS", None)
    assert isinstance(documents, dict), "plexsync.gql must define DOCUMENTS: dict[str, str]"
    assert documents, "plexsync.gql.DOCUMENTS is empty: it must list every document sent"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in documents.items())
    return documents


def test_every_plugin_document_validates_against_stashs_schema_without_deprecated_parts(
    real_schema: GraphQLSchema,
) -> None:
    problems = {
        name: errors
        for name, document in _plugin_documents().items()
        if (errors := _validation_errors(real_schema, document, no_deprecated=True))
    }
    assert problems == {}


def test_every_plugin_document_is_served_by_the_fake_stash() -> None:
    problems = {
        name: errors
        for name, document in _plugin_documents().items()
        if (errors := _validation_errors(SUBSET, document))
    }
    assert problems == {}, "extend testkit/stash_subset.graphql (with Stash's exact names)"


def test_the_hooks_raw_run_plugin_task_document_is_among_the_plugin_documents(
    real_schema: GraphQLSchema,
) -> None:
    """The hook posts runPluginTask over raw HTTP. It has to be in DOCUMENTS to be checked."""
    hook_documents = {
        name: document
        for name, document in _plugin_documents().items()
        if "runPluginTask" in document
    }
    assert hook_documents, "no runPluginTask document in plexsync.gql.DOCUMENTS"
    for name, document in hook_documents.items():
        operation = get_operation_ast(parse(document))
        assert operation is not None and operation.operation.value == "mutation", name
        assert _validation_errors(real_schema, document, no_deprecated=True) == [], name
