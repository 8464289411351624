"""Fixtures of the hook tests: a fake Stash, and the data folder the hook resolves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plexsync.core import datadir
from testkit.fake_stash import FakeStash


@pytest.fixture
def stash() -> Iterator[FakeStash]:
    with FakeStash() as fake:
        yield fake


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(datadir.ENV_VAR, str(tmp_path / "data"))
    return Path(datadir.resolve())
