"""The ingester registry: `auditor ingest` picks the reader from the source's shape (an explicit
kind always wins), refuses options the kind does not take, and every ingester listed works end to
end through the real CLI on a source its real tool wrote."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.errors import UsageError
from auditor.ingest.interface import Confidence, Options
from auditor.ingest.registry import FLAGS, INGESTERS, KINDS, canonical, detect, option_help, read
from tests.conftest import AUDITOR, CliRunner, base_env
from tests.ingest.conftest import gaps_pack
from tests.ingest.test_dvc import copy_of, pipeline
from tests.ingest.test_mlflow import shared_stores
from tests.ingest.test_openlineage import produce
from tests.ingest.test_wandb import shared_project


def test_kinds_are_detected_from_the_shape_of_the_source(tmp_path: Path) -> None:
    mlruns = tmp_path / "mlruns" / "0"
    mlruns.mkdir(parents=True)
    (mlruns / "meta.yaml").write_text("name: Default\n")
    assert detect(str(tmp_path / "mlruns")) == "mlflow"
    assert detect(str(tmp_path)) == "mlflow"  # the folder holding mlruns/
    database = tmp_path / "mlflow.db"
    sqlite3.connect(database).execute("create table runs (run_uuid text)").connection.commit()
    assert detect(str(database)) == "mlflow"
    assert detect(f"sqlite:///{database}") == "mlflow"
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "dvc.yaml").write_text("stages: {}\n")
    assert detect(str(repo)) == "dvc" and detect(str(repo / "dvc.yaml")) == "dvc"
    events = tmp_path / "events.jsonl"
    events.write_text("{}\n")
    assert detect(str(events)) == "openlineage"


def test_an_unknown_source_asks_for_the_kind(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(UsageError, match=r"cannot tell which tool recorded this; name it: auditor ingest mlflow\|dvc"):
        detect(str(tmp_path / "notes.txt"))
    with pytest.raises(UsageError, match="no such file or folder"):
        detect(str(tmp_path / "absent"))


def test_options_that_do_not_fit_the_kind_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--experiment is for MLflow stores only"):
        read("dvc", str(tmp_path), Options({"--experiment": "x"}))
    with pytest.raises(UsageError, match="--rehash is for DVC repositories only"):
        read("openlineage", str(tmp_path), Options({"--rehash": True}))
    with pytest.raises(UsageError, match="--run-id is not for DVC: a DVC repository holds one pipeline"):
        read("dvc", str(tmp_path), Options({"--run-id": "r1"}))


def test_the_surest_ingester_wins_detection(tmp_path: Path) -> None:
    both = tmp_path / "both"
    (both / "mlruns" / "0").mkdir(parents=True)
    (both / "mlruns" / "0" / "meta.yaml").write_text("name: Default\n")
    (both / "events.json").write_text("{}\n")
    assert detect(str(both)) == "mlflow"  # an mlruns store beats a folder that happens to hold .json files
    (both / "dvc.yaml").write_text("stages: {}\n")
    assert detect(str(both)) == "dvc"  # dvc.yaml names the tool
    database = tmp_path / "events.json"  # an SQLite file named like events: the name is the likelier sign
    sqlite3.connect(database).execute("create table runs (run_uuid text)").connection.commit()
    assert detect(str(database)) == "openlineage"


def test_an_explicit_kind_wins_over_detection(cli: CliRunner, tmp_path: Path) -> None:
    events = tmp_path / "mlruns.jsonl"  # would be detected as OpenLineage events
    events.write_text("{}\n")
    done = cli("ingest", "mlflow", str(events), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 2
    assert "neither an mlruns folder nor an SQLite database" in done.stderr  # the MLflow reader answered
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "store" / "runs").exists() or not any((tmp_path / "store" / "runs").iterdir())


def test_one_spelling_per_source() -> None:
    here = Path.cwd()
    assert canonical("mlruns") == str(here / "mlruns")
    assert canonical("sqlite:///mlflow.db") == str(here / "mlflow.db")
    assert canonical("sqlite:////srv/mlflow.db") == "/srv/mlflow.db"
    assert canonical("file:///srv/ml%20runs") == "/srv/ml runs"
    assert canonical("http://tracking.example") == "http://tracking.example"


def test_values_under_secret_names_are_masked_in_ingested_records(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from auditor.ingest.ingested import Ingested, build_record
    from auditor.ingest.store import commit
    from auditor.record import load_record
    from auditor.record.lineage import Dataset, Datasheet
    from auditor.store.runs import RunStore

    facet = '{"spark_properties": {"fs.s3a.secret.key": "abc123secret", "spark.app.name": "etl"}}'
    now = datetime(2026, 11, 27, tzinfo=UTC)
    run = Ingested(
        tool="MLflow",
        tool_version=None,
        source_uri="/x",
        source_run_id="r1",
        project="p",
        started_at=now,
        ended_at=now,
        status="succeeded",
        params={"db_password": "hunter2-very-secret", "lr": "0.1"},
        tags={"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI", "mlflow.user": "ana"},
        datasets=(
            Dataset(id="d", role="input", uri="s3://b/k", datasheet=Datasheet(), annotations={"facet.x": facet}),
        ),
    )
    store = RunStore.create(tmp_path / "store")
    path = commit(store, build_record(run))
    text = (path / "record.json").read_text()
    for secret in ("hunter2-very-secret", "wJalrXUtnFEMI", "abc123secret"):
        assert secret not in text  # the model card's copy of the params included
    record = load_record(path / "record.json")
    assert record.params["lr"] == "0.1" and record.tags["mlflow.user"] == "ana"
    assert "etl" in record.lineage.datasets[0].annotations["facet.x"]  # type: ignore[union-attr]


def test_every_ingester_is_whole() -> None:
    """Each entry has what the CLI derives from it; an option one kind declines is another's."""
    taken = set(FLAGS)
    for name, ingester in INGESTERS.items():
        assert name == ingester.name and re.fullmatch(r"[a-z][a-z0-9]*", name)
        assert ingester.tool and ingester.reads and ingester.description and "\n" not in ingester.description
        assert all(re.fullmatch(r"--[a-z][a-z-]*", o.flag) and o.help for o in ingester.options)
        assert set(ingester.declines) <= taken - {o.flag for o in ingester.options}
        assert ingester.detect(str(Path("/nonexistent") / "source")) == Confidence.NO


@dataclass(frozen=True)
class Source:
    """A small real source of one kind, and a value for each option its ingester takes."""

    path: str
    options: dict[str, str | bool]
    runs: set[str]  # the tool's run ids in it
    outcomes: frozenset[str] = frozenset({"could_not_evaluate"})  # of the gaps pack's rules on the first run


def mlflow_source(factory: pytest.TempPathFactory) -> Source:
    store = shared_stores(factory)["v3-sqlite"]
    train = store.run("train-logreg")["run_id"]
    return Source(
        store.source, {"--run-id": train, "--experiment": "credit-scoring"}, {r["run_id"] for r in store.client["runs"]}
    )


def dvc_source(factory: pytest.TempPathFactory) -> Source:
    repo = copy_of(pipeline(factory), factory.mktemp("registry-dvc"))  # --rehash reads the workspace
    return Source(str(repo), {"--rehash": True}, set())  # one run, named by a fingerprint of dvc.lock


def openlineage_source(factory: pytest.TempPathFactory) -> Source:
    events = factory.mktemp("registry-openlineage") / "events.jsonl"
    manifest = produce(events, "append")
    return Source(str(events), {"--run-id": manifest["train"]["run_id"]}, {m["run_id"] for m in manifest.values()})


def wandb_source(factory: pytest.TempPathFactory) -> Source:
    project = shared_project(factory)
    runs = {v["run_id"] for v in project.logged.values()}
    # W&B records inputs only for artifacts a run uses, which offline runs cannot: "no input dataset" fails
    return Source(
        str(project.root),
        {"--run-id": project.logged["train"]["run_id"]},
        runs,
        frozenset({"could_not_evaluate", "fail"}),
    )


# One producer per kind: a kind added to the registry without one fails the test below.
SOURCES: dict[str, Callable[[pytest.TempPathFactory], Source]] = {
    "mlflow": mlflow_source,
    "dvc": dvc_source,
    "openlineage": openlineage_source,
    "wandb": wandb_source,
}


def ingested(cli: CliRunner, cwd: Path, store: Path, *args: str) -> dict[str, str]:
    done = cli("ingest", *args, "--store", str(store), cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.findall(r"^(?:ingested|already ingested as) (\S+)(?: \(source run (\S+)\))?$", done.stdout, re.M)
    assert found, done.stdout
    return {source_run: run for run, source_run in found}


@pytest.mark.parametrize("kind", KINDS)
def test_every_registered_kind_ingests_end_to_end(
    cli: CliRunner, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, kind: str
) -> None:
    assert set(SOURCES) == set(KINDS)
    ingester = INGESTERS[kind]
    source = SOURCES[kind](tmp_path_factory)
    assert set(source.options) == {o.flag for o in ingester.options}  # every option it takes is exercised
    store = tmp_path / "store"

    runs = ingested(cli, tmp_path, store, source.path)  # detected from the source's shape
    if source.runs:
        assert set(runs) == source.runs
    for run in runs.values():
        record = json.loads(cli("show", run, "--store", str(store), "--json", cwd=tmp_path).stdout)
        assert record["origin"]["kind"] == "ingested" and record["origin"]["tool"] == ingester.tool
        assert record["origin"]["source_uri"] == canonical(source.path)
    pack = tmp_path / "gaps.yaml"
    pack.write_text(gaps_pack(kind))
    first = next(iter(runs.values()))
    done = cli("check", first, "--store", str(store), "--policy", str(pack), "--format", "json", cwd=tmp_path)
    assert done.returncode == (3 if source.outcomes == {"could_not_evaluate"} else 1), done.stdout + done.stderr
    found = {f["outcome"] for f in json.loads(done.stdout)["findings"]} - {"not_applicable"}  # DVC's scripts: code
    assert found == source.outcomes

    flags = [a for flag, v in source.options.items() for a in ((flag, v) if isinstance(v, str) else (flag,))]
    again = ingested(cli, tmp_path, tmp_path / "with-options", kind, source.path, *flags)  # named, with its options
    assert again and (not source.runs or set(again) < source.runs)  # --run-id picks one run of several

    for flag in sorted(set(FLAGS) - set(source.options)):  # an option another kind takes is refused
        wrong = cli("ingest", kind, source.path, flag, *(() if flag == "--rehash" else ("x",)), cwd=tmp_path)
        assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
        assert f"auditor: error: {flag} is " in wrong.stderr


def test_the_help_lists_exactly_the_registry(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("ingest", "--help", cwd=tmp_path, env=base_env(COLUMNS="100"))
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    listed = re.search(r"KIND is (\S+) \(detected when left out\)", text)
    assert listed and tuple(listed[1].split("|")) == KINDS
    for ingester in INGESTERS.values():
        assert f"{ingester.name}: {ingester.description}" in text
        assert ingester.tool in text.split("Arguments:")[0]  # "Ingest runs that MLflow, DVC or OpenLineage ..."
    options = set(re.findall(r"^ +(--[a-z-]+)", done.stdout, re.M)) - {
        "--store",
        "--spec",
        "--project",
        "--help",
    }  # every kind's
    assert options == set(FLAGS)
    for flag in FLAGS:
        assert option_help(flag) in text
    unknown = cli("ingest", "svn", "x", cwd=tmp_path)
    assert unknown.returncode == 2 and f"KIND one of {', '.join(KINDS)}" in unknown.stderr


def test_help_does_not_import_the_readers(tmp_path: Path) -> None:
    """`auditor --help` builds the ingest help from the registry: no reader, record model or store loads."""
    ingesters = {type(i).__module__ for i in INGESTERS.values()}
    packages = {m.rpartition(".")[0] for m in ingesters}
    light = {"auditor.ingest.registry", "auditor.ingest.interface", *ingesters, *packages}
    for args in (("--help",), ("ingest", "--help")):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", str(AUDITOR), *args],
            cwd=tmp_path,
            env=base_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        modules = set(re.findall(r"\| +([\w.]+)$", done.stderr, re.M))
        # `auditor --help` lists commands from the CLI's table alone; `ingest --help` asks the registry
        assert ("auditor.ingest.registry" in modules) == (args[0] == "ingest")
        ingest = {m for m in modules if m.startswith(("auditor.record", "auditor.store", "auditor.ingest."))}
        assert ingest <= light, ingest - light
