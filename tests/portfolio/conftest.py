"""The portfolio scenario (tests/portfolio/scenario.py), built once per test session."""

from __future__ import annotations

import pytest

from tests.portfolio.scenario import Scenario, build_scenario


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("portfolio") / "scenario")
