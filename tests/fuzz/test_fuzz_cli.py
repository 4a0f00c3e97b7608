"""A few fuzz cases per input through the real CLI, as a user's shell would run it (fixed seeds).

On top of the readers' property (tests/fuzz/test_fuzz_readers.py): the exit code is one of the
documented ones, exit 2 prints one line and writes nothing (no report file, no run in the store),
and any other exit writes what was asked.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from auditor.record.io import dump_record
from tests.check.test_check_cli import PACK
from tests.conftest import AUDITOR, base_env
from tests.factories import make_record
from tests.fuzz import seeds
from tests.fuzz.mutate import SCALE, json_text, mutated, yaml_text

CASES = 8 * SCALE
CLI = settings(max_examples=CASES, deadline=None, database=None, derandomize=False)


def _auditor(cwd: Path, *args: str) -> tuple[int, str, str]:
    import subprocess

    done = subprocess.run(
        [str(AUDITOR), *args],
        cwd=cwd,
        env=base_env(AUDITOR_CACHE_DIR=str(cwd / "cache")),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


_MADE: list[Path] = []


@pytest.fixture(autouse=True)
def _cleaned() -> Iterator[None]:
    yield
    while _MADE:
        shutil.rmtree(_MADE.pop(), ignore_errors=True)


def _project(record: bytes | None = None) -> Path:
    while _MADE:  # the previous case's folder: a long run leaves none behind
        shutil.rmtree(_MADE.pop(), ignore_errors=True)
    cwd = Path(tempfile.mkdtemp(prefix="auditor-fuzz-cli-"))
    _MADE.append(cwd)
    (cwd / "mini.yaml").write_text(PACK)
    (cwd / "rec.json").write_bytes(record if record is not None else dump_record(make_record()))
    return cwd


def _check_outcome(cwd: Path, *args: str) -> None:
    code, out, err = _auditor(cwd, "check", *args, "--format", "json", "-o", "report.json")
    if code == 2:
        assert err.startswith("auditor: error: ") and err.count("\n") == 1, err
        assert not out and not (cwd / "report.json").exists()
    else:
        assert code in (0, 1, 3), (code, err)
        assert json.loads((cwd / "report.json").read_text())["kind"] == "auditor.check-report"


@seed(20261127)
@CLI
@given(raw=json_text(seeds.record_json()))
def test_check_a_hostile_record(raw: bytes) -> None:
    cwd = _project(raw)
    _check_outcome(cwd, "rec.json", "--policy", "mini.yaml")


@seed(1)
@CLI
@given(text=yaml_text(seeds.WAIVERS))
def test_check_with_hostile_waivers(text: str) -> None:
    cwd = _project()
    (cwd / "waivers.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    _check_outcome(cwd, "rec.json", "--policy", "mini.yaml", "--waivers", "waivers.yaml")


@seed(2)
@CLI
@given(text=yaml_text(seeds.SPEC))
def test_check_with_a_hostile_auditor_yaml(text: str) -> None:
    cwd = _project()
    (cwd / "auditor.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    _check_outcome(cwd, "rec.json", "--policy", "mini.yaml")


@seed(3)
@CLI
@given(text=yaml_text(seeds.PACK))
def test_validate_a_hostile_pack(text: str) -> None:
    cwd = _project()
    (cwd / "team.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    code, out, err = _auditor(cwd, "rules", "validate", "team.yaml")
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.startswith("auditor: error: ") and err.count("\n") == 1 and not out, err


@seed(4)
@CLI
@given(events=st.lists(mutated(seeds.openlineage_events()[1]), min_size=1, max_size=2))
def test_ingest_hostile_openlineage_events(events: list[Any]) -> None:
    cwd = _project()
    lines = [json.dumps(e, allow_nan=True) for e in [seeds.openlineage_events()[0], *events]]
    (cwd / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    code, _, err = _auditor(cwd, "ingest", "openlineage", "events.jsonl", "--store", "store")
    runs = cwd / "store" / "runs"
    if code == 2:
        assert err.startswith("auditor: error: ") and err.count("\n") == 1, err
        assert not runs.exists() or not any(runs.iterdir())  # every run is read before any is written
    else:
        assert code == 0, (code, err)
        assert any(runs.iterdir())
