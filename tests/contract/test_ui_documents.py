"""The PlexSync page's GraphQL documents (ui/plexsync.js) against Stash's real schema.

The page builds no query at run time: every document is a backtick literal in the file. Each
must validate against the real schema (../shared/stash-schema/), use nothing deprecated, and
accept the variables the page sends. The browser tests (tests/ui/) run the page against
Stash's real schema too; this names the exact document and rule when one breaks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLSchema,
    OperationDefinitionNode,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.validation import NoDeprecatedCustomRule

from tests.contract import test_stash_contract

JS = Path(__file__).resolve().parents[2] / "ui" / "plexsync.js"
DOCUMENT = re.compile(r"`((?:query|mutation|subscription) PlexSync\w+[^`]*)`")
# What the page sends with each document (see run/refresh/findJob/titles in plexsync.js).
real_schema = test_stash_contract.real_schema   # the fixture (skips without the schema)
VARIABLES: dict[str, dict[str, Any]] = {
    "PlexSyncPageStatus": {"plugin": "PlexSync", "args": {"mode": "page_status"}},
    "PlexSyncRunTask": {"plugin": "PlexSync", "task": "Recover DLQ Jobs",
                        "args": {"error_types": "LowConfidence", "ui_request": "ui-1"}},
    "PlexSyncFindJob": {"input": {"id": "7"}},
    "PlexSyncScenes": {"ids": ["401", "402"]},
}


def documents() -> dict[str, str]:
    found = {}
    for text in DOCUMENT.findall(JS.read_text(encoding="utf-8")):
        operation = get_operation_ast(parse(text))
        assert isinstance(operation, OperationDefinitionNode) and operation.name is not None
        found[operation.name.value] = text
    return found


def test_every_document_in_the_page_is_known_here() -> None:
    assert set(documents()) == set(VARIABLES)


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_page_document_validates_against_stash_with_its_variables(
    name: str, real_schema: GraphQLSchema
) -> None:
    schema = real_schema
    text = documents()[name]
    document = parse(text)
    errors = validate(schema, document, [*specified_rules, NoDeprecatedCustomRule])
    assert not errors, [e.message for e in errors]
    operation = get_operation_ast(document)
    assert operation is not None
    coerced = get_variable_values(schema, operation.variable_definitions or [], VARIABLES[name])
    assert not isinstance(coerced, list), [e.message for e in coerced]
