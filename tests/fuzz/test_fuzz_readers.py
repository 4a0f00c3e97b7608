"""Property-based fuzzing of every reader of untrusted input (Hypothesis).

The property, for each: a mutation of a valid input gives a clean result or an AuditorError with
exit code 2 and a message; never another exception (which the CLI would turn into exit 70, a
crash log), never a hang (each case has PER_EXAMPLE_SECONDS). Each target runs a few hundred
cases here; `HYPOTHESIS_PROFILE=long` runs twenty times as many (see tests/fuzz/mutate.py).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.check.checks.cel import program
from auditor.check.checks.interface import CheckContext
from auditor.check.engine import evaluate
from auditor.check.packs import load_pack
from auditor.check.waivers import apply_waivers, load_waivers, parse_waivers
from auditor.errors import AuditorError
from auditor.ingest.ingested import build_record
from auditor.ingest.registry import read
from auditor.project.spec import load_spec, parse_spec
from auditor.record import RunRecord
from auditor.record.findings import Finding
from auditor.record.io import dump_record, parse_record
from tests.fuzz import seeds
from tests.fuzz.mutate import SCALARS, VALUES, budget, json_text, mutated, outcome, text_mutations, yaml_dump, yaml_text

TODAY = date(2026, 11, 27)


_MADE: list[Path] = []


def _folder() -> Path:
    """A fresh folder per case (pytest's tmp_path is one per test, shared by its cases); the
    previous case's is removed first, so a long run leaves at most one behind, and then none."""
    _clean()
    _MADE.append(Path(tempfile.mkdtemp(prefix="auditor-fuzz-")))
    return _MADE[-1]


def _clean() -> None:
    while _MADE:
        shutil.rmtree(_MADE.pop(), ignore_errors=True)


@pytest.fixture(autouse=True)
def _cleaned() -> Iterator[None]:
    yield
    _clean()


program("true")  # cel-python raises the recursion limit when first loaded: before Hypothesis looks


@budget(300)
@given(raw=json_text(seeds.record_json()))
def test_record_loader(raw: bytes) -> None:
    result = outcome(lambda: parse_record(raw, "record.json"))  # the bytes, as load_record reads them
    if isinstance(result, RunRecord):  # what loads must write back and load again
        assert parse_record(dump_record(result), "again.json") == result


def _written(name: str, text: str) -> Path:
    """The text as a file, as a user's editor would leave it (text that is not UTF-8 as its bytes)."""
    path = _folder() / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


@budget(300)
@given(text=yaml_text(seeds.SPEC))
def test_auditor_yaml(text: str) -> None:
    outcome(lambda: load_spec(_written("auditor.yaml", text)))


EXPRESSIONS = st.sampled_from(
    [
        "record.identity.exit_code == 0",
        "record.params.exists(k, k == 'seed')",
        "size(record.metrics) > 0",
        "record.metrics.all(m, m.value < 1.0)",
        "record.identity.project.matches('^[a-z]+$')",
        "has(record.fairness.rows) && record.fairness.rows > 10",
        "record.metrics.map(m, m.value).filter(v, v > 0.1).size() == 1",
        "[1, 2, 3].map(x, [x] + [x]).size() == 3",
        "record.identity.argv.exists_one(a, a.endsWith('.py'))",
        "int(record.params.seed) + 1 > 0",
        "1 / 0 == 1",
        "record.nothing.here",
        "'a' + 1",
        "[[1]]" + ".map(x, x + x)" * 40 + ".size() > 0",
    ]
)


@st.composite
def cel_text(draw: st.DrawFn) -> str:
    text = draw(EXPRESSIONS)
    if draw(st.booleans()):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from(["(", ")", "[", ".", "!", "&&", "||", " ? ", "'", '"', "\\", "x"]))
            + text[at:]
        )
    return text


@st.composite
def pack_text(draw: st.DrawFn) -> str:
    pack = json.loads(json.dumps(seeds.PACK))
    pack["rules"][0]["check"]["params"]["expression"] = draw(cel_text())
    if draw(st.booleans()):
        pack["rules"][0]["check"]["params"]["for_each"] = draw(cel_text())
    data = draw(mutated(pack)) if draw(st.integers(0, 3)) else pack
    return draw(text_mutations(yaml_dump(data), "yaml"))


RECORD = parse_record(json.dumps(seeds.record_json()).encode(), "seed.json")


@budget(250)
@given(text=pack_text())
def test_rule_packs_load_and_evaluate(text: str) -> None:
    pack = outcome(lambda: load_pack(_written("team.yaml", text)))
    if not isinstance(pack, AuditorError):  # a pack that loads must evaluate: verdicts, never an exception
        findings = outcome(lambda: evaluate(RECORD, pack, CheckContext(today=TODAY)))
        assert not isinstance(findings, AuditorError) and findings


FINDINGS = [
    Finding(rule_id="TEAM-FAIR-1", severity="medium", subject="attribute:sex", outcome="fail", message="m"),
    Finding(
        rule_id="AUD-VULN-001", severity="high", subject="package:numpy", outcome="fail", message="m",
        evidence={"failing": "PYSEC-2019-1"},
    ),
]  # fmt: skip


@budget(300)
@given(text=yaml_text(seeds.WAIVERS))
def test_waivers(text: str) -> None:
    waivers = outcome(lambda: load_waivers(_written("waivers.yaml", text)))
    if not isinstance(waivers, AuditorError):
        report = apply_waivers(FINDINGS, waivers, TODAY)
        assert len(report.findings) >= len(FINDINGS)
        assert all(f.outcome != "pass" for f in report.findings)  # a waiver never turns a failure into a pass


def _ingest(kind: str, source: str) -> None:
    """Read the source as `auditor ingest` does, then build every record: both within the property."""
    runs = outcome(lambda: read(kind, source))
    if not isinstance(runs, AuditorError):
        for run in runs:
            outcome(lambda run=run: build_record(run))


@st.composite
def file_tree(draw: st.DrawFn, files: dict[str, str], kind: str) -> dict[str, str | bytes]:
    """The files with one to three of them changed: text mutated, emptied, made binary or removed."""
    tree: dict[str, str | bytes] = dict(files)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        name = draw(st.sampled_from(sorted(tree)))
        action = draw(st.sampled_from(["text", "text", "yaml", "empty", "bytes", "remove"]))
        current = tree[name]
        if action == "text" and isinstance(current, str):
            tree[name] = draw(text_mutations(current, kind))
        elif action == "yaml" and name in files and name.endswith((".yaml", ".lock")):
            import yaml

            tree[name] = draw(yaml_text(yaml.safe_load(files[name])))  # the seed's own data, mutated
        elif action == "empty":
            tree[name] = ""
        elif action == "bytes":
            tree[name] = draw(st.binary(max_size=64)) + b"\xff\xfe"
        elif action == "remove" and len(tree) > 1:
            del tree[name]
        else:
            tree[name] = to_value_text(draw(VALUES))
    return tree


def to_value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, allow_nan=True)


@budget(200)
@given(tree=file_tree(seeds.MLFLOW_FILES, "yaml"))
def test_mlflow_file_store(tree: dict[str, str | bytes]) -> None:
    root = _folder() / "mlruns"
    seeds.write_tree(root, tree)
    _ingest("mlflow", str(root))


@st.composite
def sqlite_rows(draw: st.DrawFn) -> dict[str, list[list[Any]]]:
    rows = json.loads(json.dumps(seeds.SQLITE_ROWS))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        table = draw(st.sampled_from(sorted(rows)))
        if not rows[table] or draw(st.integers(0, 5)) == 0:
            rows[table].append(list(rows[table][0]) if rows[table] else [])
            continue
        row = draw(st.sampled_from(rows[table]))
        if row:
            column = draw(st.integers(min_value=0, max_value=len(row) - 1))
            row[column] = draw(
                st.one_of(
                    SCALARS.filter(lambda v: not isinstance(v, int) or -(2**63) <= v < 2**63), st.binary(max_size=16)
                )
            )
    return rows


@budget(200)
@given(rows=sqlite_rows())
def test_mlflow_sqlite_store(rows: dict[str, list[list[Any]]]) -> None:
    db = _folder() / "mlflow.db"
    seeds.write_sqlite(db, rows)
    _ingest("mlflow", f"sqlite:///{db}")


@budget(120)
@given(tree=file_tree(seeds.DVC_FILES, "yaml"))
def test_dvc_repository(tree: dict[str, str | bytes]) -> None:
    repo = _folder() / "repo"
    seeds.write_tree(repo, tree)
    (repo / ".dvc").mkdir(exist_ok=True)
    _ingest("dvc", str(repo))


@budget(300)
@given(events=st.lists(mutated(seeds.openlineage_events()[0]), min_size=0, max_size=2), tail=st.data())
def test_openlineage_event_lines(events: list[Any], tail: st.DataObject) -> None:
    lines = [json.dumps(e, allow_nan=True) for e in [*seeds.openlineage_events(), *events]]
    text = tail.draw(text_mutations("\n".join(lines) + "\n", "json"))
    path = _folder() / "events.jsonl"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _ingest("openlineage", str(path))


def test_every_seed_is_valid() -> None:
    """Without this, a broken seed would make every case an early error and the fuzzing shallow."""
    assert isinstance(parse_record(json.dumps(seeds.record_json()).encode(), "r.json"), RunRecord)
    parse_spec(yaml_dump(seeds.SPEC), "auditor.yaml")
    assert len(parse_waivers(yaml_dump(seeds.WAIVERS), "w.yaml")) == 2
    folder = _folder()
    (folder / "team.yaml").write_text(yaml_dump(seeds.PACK))
    assert any(r.rule.id == "TEAM-EXPR-1" for r in load_pack(folder / "team.yaml").rules)
    seeds.write_tree(folder / "mlruns", dict(seeds.MLFLOW_FILES))
    seeds.write_sqlite(folder / "mlflow.db", seeds.SQLITE_ROWS)
    seeds.write_tree(folder / "repo", dict(seeds.DVC_FILES))
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in seeds.openlineage_events()))
    for kind, source in (
        ("mlflow", str(folder / "mlruns")),
        ("mlflow", f"sqlite:///{folder / 'mlflow.db'}"),
        ("dvc", str(folder / "repo")),
        ("openlineage", str(folder / "events.jsonl")),
    ):
        (run,) = read(kind, source)
        build_record(run)
