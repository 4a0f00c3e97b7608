"""auditor.yaml applied to `auditor ingest openlineage`, through the CLI, on events the real
openlineage-python client wrote; and what an auditor.yaml found in an ingested source may not do.

OpenLineage names datasets by namespace and name, so auditor.yaml names them by URI (namespace/name);
a dataset whose URI is not the one the producer emitted is still found by its id, and says so.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRunner
from tests.ingest.test_openlineage import produce
from tests.ingest.test_spec import SPEC, wine_pipeline

SPEC_OL = """\
version: 1
project: {name: churn, owner: CRM analytics, intended_use: Flag customers likely to leave for a retention call}
datasets:
  - id: customers
    role: input
    uri: postgres://db.example.com:5432/analytics.public.customers
    datasheet: {description: The CRM's customer table, source: CRM export, owner: CRM analytics,
                licence: internal, personal_data: true, legal_basis: "GDPR Art. 6(1)(f): legitimate interest"}
  - id: churn.parquet
    role: input
    uri: s3://ml-bucket/features/churn.parquet
    datasheet: {description: Spend features, source: feature store, owner: ML platform, licence: internal,
                personal_data: true, legal_basis: "GDPR Art. 6(1)(f): legitimate interest"}
  - id: predictions-churn_scores
    role: output
    uri: s3://old-bucket/churn_scores
    datasheet: {licence: internal, personal_data: true, legal_basis: "GDPR Art. 6(1)(f): legitimate interest"}
  - id: tickets
    role: input
    uri: postgres://db.example.com:5432/analytics.public.tickets
governance:
  provider: Example Telecom
"""


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("openlineage-spec") / "churn" / "events.jsonl"
    manifest = produce(path, "append")
    (path.parent / "auditor.yaml").write_text(SPEC_OL)
    return path, manifest


def test_datasets_matched_by_uri_and_by_id(cli: CliRunner, tmp_path: Path, events: tuple[Path, dict[str, Any]]) -> None:
    source, manifest = events
    store = tmp_path / "store"
    done = cli("ingest", str(source), "--store", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"applying {source.parent / 'auditor.yaml'}" in done.stderr
    runs = {line.split()[-1].rstrip(")"): line.split()[1] for line in done.stdout.splitlines()}
    train = runs[manifest["train"]["run_id"]]
    record = json.loads(cli("show", train, "--store", str(store), "--json", cwd=tmp_path).stdout)
    lineage = record["lineage"]
    # the client's own view: the namespaces and names it emitted are the URIs auditor.yaml names
    emitted = {f"{d['namespace']}/{d['name']}" for d in (*manifest["train"]["inputs"], *manifest["train"]["outputs"])}
    assert "postgres://db.example.com:5432/analytics.public.customers" in emitted
    assert "postgres://db.example.com:5432/analytics.public.tickets" not in emitted
    by_uri = {d["uri"]: d for d in lineage["datasets"]}
    customers = by_uri["postgres://db.example.com:5432/analytics.public.customers"]["datasheet"]
    assert customers["legal_basis"] == "GDPR Art. 6(1)(f): legitimate interest" and customers["licence"] == "internal"
    assert customers["description"] == "Customer master data"  # the producer's documentation facet stays
    assert by_uri["s3://ml-bucket/predictions/churn_scores"]["datasheet"]["personal_data"] is True  # by its id
    notes = " ".join(lineage["notes"])
    assert (
        'description: OpenLineage recorded "Customer master data", auditor.yaml says "The CRM\'s customer table"'
        in notes
    )
    assert "predictions-churn_scores (name predictions-churn_scores)" in notes
    assert "customers (URI postgres://db.example.com:5432/analytics.public.customers)" in notes
    tickets = "postgres://db.example.com:5432/analytics.public.tickets"
    assert lineage["unmatched"] == [f"dataset tickets ({tickets}): the OpenLineage run used no such URI"]
    assert lineage["project"]["owner"] == "team:ml (OWNER)"  # the job's ownership facet: the tool's fact stays
    assert 'project owner: OpenLineage recorded "team:ml (OWNER)", auditor.yaml says "CRM analytics"' in notes
    assert lineage["project"]["intended_use"] == "Flag customers likely to leave for a retention call"
    assert record["governance"]["provider"] == "Example Telecom"
    check = cli("check", train, "--store", str(store), "--format", "json", cwd=tmp_path)
    personal = {
        f["subject"]: f["outcome"] for f in json.loads(check.stdout)["findings"] if f["rule_id"] == "AUD-DATA-004"
    }
    assert set(personal.values()) == {"pass"}, personal


def test_an_ingested_auditor_yaml_reads_nothing_outside_its_project(
    cli: CliRunner, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """A cloned repository's auditor.yaml is as untrusted as the rest of it: its predictions and model
    paths may not make auditor read a file outside the repository (here, through `..` and a link)."""
    repo = tmp_path / "wine"
    shutil.copytree(wine_pipeline(tmp_path_factory), repo, symlinks=True)
    outside = tmp_path / "holdout.csv"
    outside.write_text("label,prediction,region\n" + "1,1,north\n" * 40)
    (repo / "leak.csv").symlink_to(outside)
    (repo / "auditor.yaml").write_text(SPEC.replace("path: predictions.csv\n  label", "path: ../holdout.csv\n  label"))
    done = cli("ingest", str(repo), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = done.stdout.split()[1]
    record = json.loads(cli("show", run, "--store", str(tmp_path / "store"), "--json", cwd=tmp_path).stdout)
    assert record["fairness"]["state"] == "missing"
    assert record["fairness"]["reason"] == "../holdout.csv: outside the project and the source: not read"
    assert "predictions (../holdout.csv: outside the project and the source: not read)" in " ".join(
        record["lineage"]["unmatched"]
    )
    assert "fairness" in record["origin"]["not_captured"]
    (repo / "auditor.yaml").write_text(SPEC.replace("path: predictions.csv\n  label", "path: leak.csv\n  label"))
    done = cli("ingest", str(repo), "--store", str(tmp_path / "other"), cwd=tmp_path)
    run = done.stdout.split()[1]
    record = json.loads(cli("show", run, "--store", str(tmp_path / "other"), "--json", cwd=tmp_path).stdout)
    assert record["fairness"]["reason"] == "leak.csv: outside the project and the source: not read"
