"""The run index's tests run once on SQLite (the file in the store) and once on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import base_env
from tests.index.postgres import postgres_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def index_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment of every command in a test: AUDITOR_INDEX_URL set for PostgreSQL."""
    if request.param == "postgresql":
        return base_env(AUDITOR_INDEX_URL=request.getfixturevalue("postgres_url"))
    return base_env()
