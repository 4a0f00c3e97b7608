"""Earlier ingests found through the run index: only the runs it names for the source runs being
ingested are read (each verified before it counts), the records when the index cannot be used,
and an index edited by hand never links a record to a run of another source."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from auditor.index.query import summaries
from auditor.ingest.registry import ingest
from auditor.record import RunRecord
from auditor.store.runs import RunStore
from tests.conftest import CliRunner, base_env
from tests.ingest.test_openlineage import produce


class CountingStore(RunStore):
    """A real store that remembers which runs' records were read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.read: list[str] = []

    def verify(self, run_id: str) -> bytes:
        self.read.append(run_id)
        return super().verify(run_id)

    def load_with_bytes(self, run_id: str) -> tuple[RunRecord, bytes]:
        self.read.append(run_id)
        return super().load_with_bytes(run_id)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Two event files of the real OpenLineage client: the one re-ingested, and unrelated runs."""
    root = tmp_path_factory.mktemp("index-reingest")
    return {
        name: (root / name / "events.jsonl", produce(root / name / "events.jsonl", "append"))
        for name in ("mine", "other")
    }


def ingested(cli: CliRunner, cwd: Path, store: Path, source: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """source run id -> auditor's run id, for every run the ingest wrote or found."""
    done = cli("ingest", "openlineage", str(source), "--store", str(store), cwd=cwd, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.findall(r"^(?:ingested|already ingested as) (\S+) \(source run (\S+)\)$", done.stdout, re.M)
    assert found, done.stdout
    return {source_run: run for run, source_run in found}


def links(cli: CliRunner, cwd: Path, store: Path, run_id: str) -> str | None:
    shown = json.loads(cli("show", run_id, "--store", str(store), "--json", cwd=cwd).stdout)
    value = shown["links"].get("reingests")
    return value if isinstance(value, str) else None


def test_a_reingest_reads_only_the_earlier_ingests_of_its_source_runs(
    cli: CliRunner, tmp_path: Path, sources: dict[str, tuple[Path, dict[str, Any]]]
) -> None:
    store_root = tmp_path / "store"
    mine = ingested(cli, tmp_path, store_root, sources["mine"][0])
    other = ingested(cli, tmp_path, store_root, sources["other"][0])
    assert len(summaries(RunStore.open(store_root))) == len(mine) + len(other)  # the index is up to date

    store = CountingStore(store_root)
    outcomes = ingest("openlineage", str(sources["mine"][0]), store)
    assert {o.source_run_id: o.run_id for o in outcomes} == mine
    assert not any(o.new for o in outcomes)
    assert set(store.read) <= set(mine.values())  # no record of another source was read
    assert not set(store.read) & set(other.values())


def test_without_a_usable_index_every_record_is_read_and_the_earlier_ingest_found(
    cli: CliRunner, tmp_path: Path, sources: dict[str, tuple[Path, dict[str, Any]]]
) -> None:
    store = tmp_path / "store"
    first = ingested(cli, tmp_path, store, sources["mine"][0])
    ingested(cli, tmp_path, store, sources["other"][0])
    broken = base_env(AUDITOR_INDEX_URL=f"sqlite:///{tmp_path / 'no-such-folder' / 'index.sqlite'}")
    done = cli("ingest", "openlineage", str(sources["mine"][0]), "--store", str(store), cwd=tmp_path, env=broken)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the run index cannot be used" in done.stderr
    again = dict(re.findall(r"^already ingested as (\S+) \(source run (\S+)\)$", done.stdout, re.M))
    assert {source_run: run for run, source_run in again.items()} == first


def test_an_index_of_the_earlier_format_is_rebuilt_not_read_as_no_ingests(
    cli: CliRunner, tmp_path: Path, sources: dict[str, tuple[Path, dict[str, Any]]]
) -> None:
    store = tmp_path / "store"
    first = ingested(cli, tmp_path, store, sources["mine"][0])
    summaries(RunStore.open(store))
    with sqlite3.connect(store / "index.sqlite") as db:  # as an auditor before auditor_ingests left it
        db.execute("DELETE FROM auditor_ingests")
        db.execute("UPDATE auditor_meta SET format_version = 1")
    assert ingested(cli, tmp_path, store, sources["mine"][0]) == first


def test_an_index_edited_to_lie_never_links_a_record_to_another_source_run(
    cli: CliRunner, tmp_path: Path, sources: dict[str, tuple[Path, dict[str, Any]]]
) -> None:
    store = tmp_path / "store"
    path, manifest = sources["mine"]
    first = ingested(cli, tmp_path, store, path)
    train, score = manifest["train"]["run_id"], manifest["score"]["run_id"]
    summaries(RunStore.open(store))
    with sqlite3.connect(store / "index.sqlite") as db:  # score's earlier ingest now claims to be train's
        db.execute("UPDATE auditor_ingests SET source_run_id = ? WHERE run_id = ?", (train, first[score]))
    check = cli("index", "check", "--store", str(store), cwd=tmp_path)
    assert check.returncode == 1 and f"run {first[score]}: ingests column source_run_id" in check.stdout

    # the run the index names for train is verified and counted under the key its record holds
    assert ingested(cli, tmp_path, store, path) == first  # neither written again nor linked wrongly
    assert cli("log", "verify", "--store", str(store), cwd=tmp_path).returncode == 0

    with sqlite3.connect(store / "index.sqlite") as db:  # a row removed hides train's earlier ingest
        db.execute("DELETE FROM auditor_ingests WHERE run_id = ?", (first[train],))
    check = cli("index", "check", "--store", str(store), cwd=tmp_path)
    assert check.returncode == 1 and f"run {first[train]}: an ingested run without its ingests row" in check.stdout
    again = ingested(cli, tmp_path, store, path)
    assert again[score] == first[score]
    # written again, linking nothing: a duplicate `auditor index check` reports, never a wrong link
    assert again[train] != first[train] and links(cli, tmp_path, store, again[train]) is None

    rebuilt = cli("index", "rebuild", "--store", str(store), cwd=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert cli("index", "check", "--store", str(store), cwd=tmp_path).returncode == 0
    done = cli("ingest", "openlineage", str(path), "--store", str(store), cwd=tmp_path)
    assert done.returncode == 0 and not re.search(r"^ingested ", done.stdout, re.M), done.stdout
