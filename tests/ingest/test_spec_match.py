"""Where an ingest finds auditor.yaml, and how its entries are matched to what a tool recorded.

The end-to-end behaviour on real tool output is in test_spec*.py; these are the edges of the rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.ingest.declared import declared_record
from auditor.ingest.declared_find import SPEC_ENV, find_declaration, project_folders
from auditor.ingest.declared_match import Index, Places
from auditor.ingest.ingested import Ingested
from auditor.project.spec import SpecError
from auditor.record.lineage import Dataset, Datasheet, Lineage, ModelArtifact
from auditor.record.model_card import ModelCard

SPEC = "version: 1\nproject: {name: p}\n"


def test_project_folders_of_each_kind_of_source(tmp_path: Path) -> None:
    (tmp_path / "mlruns").mkdir()
    run = tmp_path / "wandb" / "offline-run-20260101_000000-abc"
    run.mkdir(parents=True)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    assert project_folders(str(tmp_path / "mlruns")) == [tmp_path / "mlruns", tmp_path]
    assert project_folders(str(tmp_path / "wandb")) == [tmp_path / "wandb", tmp_path]
    assert project_folders(str(run)) == [run, tmp_path]
    assert project_folders(str(tmp_path / "dvc.yaml")) == [tmp_path]
    assert project_folders("http://127.0.0.1:5000") == []


def test_which_auditor_yaml_applies(tmp_path: Path) -> None:
    project, cwd, elsewhere = tmp_path / "project", tmp_path / "cwd", tmp_path / "docs" / "audit.yaml"
    for folder in (project / "mlruns", cwd, elsewhere.parent):
        folder.mkdir(parents=True)
    source = str(project / "mlruns")
    assert find_declaration(source, None, cwd, env={}) is None
    (cwd / "auditor.yaml").write_text(SPEC)
    assert _file(find_declaration(source, None, cwd, env={})) == cwd / "auditor.yaml"
    (project / "auditor.yaml").write_text(SPEC)
    assert _file(find_declaration(source, None, cwd, env={})) == project / "auditor.yaml"  # the source's project first
    elsewhere.write_text(SPEC)
    assert _file(find_declaration(source, None, cwd, env={SPEC_ENV: str(elsewhere)})) == elsewhere
    given = tmp_path / "given.yaml"
    given.write_text(SPEC)
    assert _file(find_declaration(source, given, cwd, env={SPEC_ENV: str(elsewhere)})) == given
    with pytest.raises(SpecError, match=r"nope\.yaml"):
        find_declaration(source, tmp_path / "nope.yaml", cwd, env={})


def test_a_malformed_spec_names_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "auditor.yaml").write_text(SPEC + "governance:\n  risk_tier: extreme\n")
    with pytest.raises(SpecError) as raised:
        find_declaration(str(tmp_path), None, tmp_path, env={})
    assert str(raised.value).startswith(f"{tmp_path / 'auditor.yaml'}:4: governance.risk_tier:")


def _file(found: object) -> Path | None:
    return getattr(found, "file", None)


def _dataset(dataset_id: str, path: str | None = None, uri: str | None = None, **annotations: str) -> Dataset:
    return Dataset(id=dataset_id, role="input", path=path, uri=uri, datasheet=Datasheet(), annotations=annotations)


def test_paths_uris_and_names(tmp_path: Path) -> None:
    source = tmp_path / "repo"
    places = Places(project=tmp_path, source=source)
    index = Index(
        [
            _dataset("raw", path="data/raw.csv"),
            _dataset("eval", uri="https://data.example.com/eval/"),
            _dataset("train", uri=f"file://{tmp_path}/data/train.csv"),
            _dataset("local", uri=f"{tmp_path}/data/local.csv"),
            _dataset("nul", path="data/\0.csv"),
            _dataset("dvc-out", path="models/artifacts/model.pkl"),
            _dataset("plot", path="0/abc/artifacts/plots/roc.csv", artifact="plots/roc.csv"),
        ],
        places,
    )
    assert index.match("./repo/data/raw.csv", None) == {"raw": "path ./repo/data/raw.csv"}
    assert index.match("repo/data/../data/raw.csv", None) == {"raw": "path repo/data/../data/raw.csv"}
    # credentials are never compared (nor kept in the note), a trailing slash does not matter
    assert index.match(None, "https://reader:pw@data.example.com/eval") == {"eval": "URI https://data.example.com/eval"}
    assert index.match("data/train.csv", None) == {"train": "path data/train.csv"}
    assert index.match(None, f"file://{tmp_path}/data/local.csv") == {"local": f"URI file://{tmp_path}/data/local.csv"}
    assert index.match("model.pkl", None) == {}  # a DVC path that merely holds "artifacts"
    assert index.match("plots/roc.csv", None) == {"plot": "artifact path plots/roc.csv"}
    assert index.named("raw") == {"raw": "name raw"} and index.named("nothing") == {}


def test_a_models_name_answers_and_the_tools_facts_stay(tmp_path: Path) -> None:
    """A declared model matches MLflow's model by its name; a datasheet fills what the tool left empty."""
    from datetime import UTC, datetime

    (tmp_path / "auditor.yaml").write_text(
        SPEC
        + "datasets:\n  - {id: raw, role: input, path: raw.csv, datasheet: {description: Declared, licence: MIT}}\n"
        + "models:\n  - {id: clf, path: model, description: Scores applicants}\n"
        + "  - {id: gone, path: other-model}\n"
    )
    declaration = find_declaration(str(tmp_path), None, tmp_path, env={})
    assert declaration is not None
    when = datetime(2026, 1, 1, tzinfo=UTC)
    run = Ingested(
        tool="MLflow",
        tool_version=None,
        source_uri=str(tmp_path),
        source_run_id="r1",
        project="p",
        started_at=when,
        ended_at=when,
        status="succeeded",
        datasets=(Dataset(id="raw", role="input", path="raw.csv", datasheet=Datasheet(description="Recorded")),),
        models=(ModelArtifact(id="m-1", path="1/models/m-1/artifacts", annotations={"name": "model"}),),
    )
    record = declared_record(run, declaration)
    lineage, card = record.lineage, record.model_card
    assert isinstance(lineage, Lineage) and isinstance(card, ModelCard)
    sheet = lineage.datasets[0].datasheet
    assert (sheet.description, sheet.licence) == ("Recorded", "MIT")
    conflict = 'dataset raw: description: MLflow recorded "Recorded", auditor.yaml says "Declared"; MLflow\'s is kept'
    assert conflict in lineage.notes
    assert lineage.unmatched == ("model gone (other-model): the MLflow run recorded no such model",)
    assert card.models[0].description == "Scores applicants"
    assert record.governance is not None and record.governance.state == "missing"
