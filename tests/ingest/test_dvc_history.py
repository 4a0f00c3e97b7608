"""A DVC project with history (tests/ingest/dvc_history.py), read from a fresh clone: run times
from the commits, `.dvc` files and imports as stages and datasets, `artifacts:` as models,
.dvcignore, --rehash telling absent data from changed data, the declared requirements."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from auditor.ingest.dvc.reader import read
from auditor.ingest.ingested import build_record
from auditor.record.base import Missing
from auditor.record.lineage import ContentHash, IdentityHint
from auditor.record.models import DeclaredRequirements
from tests.ingest.dvc_history import DATES, History, at, clone, git_at, history
from tests.ingest.test_dvc import dot_edges, dvc, only, stage_graph


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> History:
    return history(tmp_path_factory)


@pytest.fixture
def fresh(built: History, tmp_path: Path) -> Path:
    return clone(built, tmp_path / "churn")


def test_times_are_the_commit_dates_not_todays(fresh: Path) -> None:
    run = only(read(fresh))
    assert run.time_basis == "git_commit"
    assert run.started_at == at(DATES["add"])  # data/raw.csv.dvc, the oldest stage result
    assert run.ended_at == at(DATES["retrain"])  # train's entry, changed by the last `dvc repro`
    assert run.time_note is not None
    commits = git_at(fresh, DATES["add"], "log", "--format=%h %s").splitlines()
    retrain = next(line.split()[0] for line in commits if line.endswith("retrain"))
    pipeline = next(line.split()[0] for line in commits if line.endswith("pipeline"))
    assert f"dvc.lock last changed by {retrain} on 2021-05-20 16:45 UTC (stage train)" in run.time_note
    assert f"dvc.lock last changed by {pipeline} on 2021-03-04 11:15 UTC (stage prepare)" in run.time_note
    assert "data/labels.csv.dvc last changed by" in run.time_note and "2021-02-15" in run.time_note
    steps = {s.name: s for s in run.steps}
    assert steps["prepare"].annotations["dvc.committed"] == f"committed in {pipeline} on 2021-03-04 11:15 UTC"
    assert "2021-01-10" in steps["data/raw.csv.dvc"].annotations["dvc.committed"]
    record = build_record(run)
    assert record.identity.time_basis == "git_commit" and record.resources.wall_s is None
    assert not any("approximations" in note for note in run.notes)


def test_an_uncommitted_repro_is_said(fresh: Path, built: History) -> None:
    dvc(fresh, "pull", "-q")
    (fresh / "params.yaml").write_text("train:\n  epochs: 9\n")
    dvc(fresh, "repro", "-q")
    run = only(read(fresh))
    assert run.time_basis == "git_commit"
    assert run.time_note is not None and "uncommitted changes: stage train ran after the last commit" in run.time_note
    assert run.ended_at == at(DATES["pipeline"])  # the latest stage git can date
    steps = {s.name: s for s in run.steps}
    assert steps["train"].annotations["dvc.committed"].startswith("not committed")


def test_without_git_history_file_times_are_labelled(built: History, tmp_path: Path) -> None:
    work = tmp_path / "nogit"
    shutil.copytree(built.project, work, ignore=shutil.ignore_patterns(".git"))
    run = only(read(work))
    assert run.time_basis == "file_mtime"
    assert run.time_note is not None and "not a git repository" in run.time_note
    assert "file modification times only" in run.time_note
    fresh_lock = tmp_path / "uncommitted"
    shutil.copytree(built.project, fresh_lock)
    git_at(fresh_lock, DATES["add"], "rm", "-q", "--cached", "dvc.lock")
    git_at(fresh_lock, "2021-06-01T00:00:00+00:00", "commit", "-q", "-m", "untrack the lock")
    run = only(read(fresh_lock))
    assert any("dvc.lock is not committed to git" in note for note in run.notes)
    assert run.time_basis == "git_commit"  # the .dvc files are still dated by their commits
    assert run.ended_at == at(DATES["import"])


def test_stages_match_dvc_dag_with_the_dvc_files(fresh: Path, built: History) -> None:
    record = build_record(only(read(fresh)))
    ours = stage_graph(record.lineage.graph)  # type: ignore[union-attr]
    theirs = dot_edges((built.project.parent / "dag.dot").read_text())
    assert theirs[0] == {"data/raw.csv.dvc", "data/labels.csv.dvc", "prepare", "train"}
    assert ours == theirs
    assert ours == dot_edges(dvc(fresh, "dag", "--dot"))  # the clone's own view agrees


def test_added_and_imported_data_are_inputs_with_their_source(fresh: Path, built: History) -> None:
    run = only(read(fresh))
    datasets = {d.path: d for d in run.datasets}
    raw, labels = datasets["data/raw.csv"], datasets["data/labels.csv"]
    assert raw.role == "input" and raw.annotations["dvc.tracked_by"] == "data/raw.csv.dvc"
    recorded = yaml.safe_load((fresh / "data" / "raw.csv.dvc").read_text())["outs"][0]["md5"]
    assert isinstance(raw.before, IdentityHint) and raw.before.value == recorded
    assert raw.annotations["dvc.artifact"] == "raw-data"  # an artifact of type dataset stays a dataset
    assert raw.datasheet.description == "Customer table exported from the CRM"
    entry = yaml.safe_load((fresh / "data" / "labels.csv.dvc").read_text())["deps"][0]
    assert labels.role == "input"
    assert labels.annotations["dvc.import.url"] == str(built.other) == entry["repo"]["url"]
    assert labels.annotations["dvc.import.path"] == "data/labels.csv"
    assert labels.annotations["dvc.import.rev_lock"] == entry["repo"]["rev_lock"]
    assert entry["repo"]["rev_lock"] == git_at(built.other, DATES["add"], "rev-parse", "HEAD")
    assert "dvc.import.rev" not in labels.annotations  # none was asked for
    assert labels.datasheet.source is not None and entry["repo"]["rev_lock"] in labels.datasheet.source


def test_an_import_with_a_revision_and_credentials_in_its_url(fresh: Path) -> None:
    path = fresh / "data" / "labels.csv.dvc"
    data = yaml.safe_load(path.read_text())
    data["deps"][0]["repo"].update(url="https://bob:s3cret@example.com/org/registry.git", rev="v1.2")
    path.write_text(yaml.safe_dump(data))
    labels = next(d for d in only(read(fresh)).datasets if d.path == "data/labels.csv")
    assert labels.annotations["dvc.import.url"] == "https://example.com/org/registry.git"
    assert labels.annotations["dvc.import.rev"] == "v1.2"
    assert "s3cret" not in json.dumps(labels.model_dump(mode="json"))


def test_artifacts_are_models_as_dvc_reads_them(fresh: Path, built: History) -> None:
    theirs = json.loads((built.project.parent / "artifacts.json").read_text())
    run = only(read(fresh))
    assert [m.id for m in run.models] == [n for n, a in theirs.items() if a["type"] == "model"] == ["churn-model"]
    model = run.models[0]
    dvc_model = theirs["churn-model"]
    assert model.path == dvc_model["path"] == "model.json"
    assert model.annotations["type"] == dvc_model["type"]
    assert model.annotations["description"] == dvc_model["desc"]
    assert model.annotations["labels"] == ", ".join(dvc_model["labels"])
    assert json.loads(model.annotations["meta"]) == dvc_model["meta"]
    lock = yaml.safe_load((fresh / "dvc.lock").read_text())
    outs = {e["path"]: e["md5"] for e in lock["stages"]["train"]["outs"]}
    assert isinstance(model.after, IdentityHint) and model.after.value == outs["model.json"]
    steps = {s.name: s for s in run.steps}
    assert steps["train"].outputs == ("metrics.json", "churn-model")
    record = build_record(run)
    assert record.lineage.graph  # type: ignore[union-attr]
    card = record.model_card
    assert card is not None and [m.description for m in card.models] == ["Predicts which customers leave"]
    assert not any("recorded no model" in note for note in card.notes)
    assert isinstance(card.models[0].file, Missing) and "absent from the workspace" in card.models[0].file.reason
    dvc(fresh, "pull", "-q")
    inspected = build_record(only(read(fresh))).model_card.models[0].file  # type: ignore[union-attr]
    assert isinstance(inspected, Missing) and "a JSON file" in inspected.reason  # the file was read
    (fresh / "model.json").write_text("{}")
    inspected = build_record(only(read(fresh))).model_card.models[0].file  # type: ignore[union-attr]
    assert isinstance(inspected, Missing)
    assert inspected.reason == "not read: the file changed since dvc.lock recorded it"


def test_rehash_on_a_fresh_clone_calls_the_data_absent_not_changed(fresh: Path) -> None:
    run = only(read(fresh, rehash=True))
    absent = sorted(n.split(": ", 1)[1] for n in run.notes if n.startswith("absent from the workspace"))
    assert absent == ["data/labels.csv", "data/prepared", "data/raw.csv", "model.json"]
    assert not [n for n in run.notes if n.startswith("changed since dvc.lock")]
    raw = next(d for d in run.datasets if d.path == "data/raw.csv")
    assert raw.annotations["dvc.workspace"].startswith("absent from the workspace")
    assert isinstance(raw.before, IdentityHint)  # the hint stays: nothing was hashed
    script = next(d for d in run.datasets if d.path == "src/prepare.py")  # git-tracked: present
    assert isinstance(script.before, ContentHash)
    model = run.models[0]
    assert model.annotations["dvc.workspace"].startswith("absent from the workspace")


def test_rehash_after_pull_honours_dvcignore_and_reports_a_change(fresh: Path) -> None:
    dvc(fresh, "pull", "-q")
    (fresh / "data" / "prepared" / "scratch.tmp").write_text("a scratch file DVC ignores\n")
    run = only(read(fresh, rehash=True))
    assert not [n for n in run.notes if n.startswith(("changed since", "absent from"))], run.notes
    prepared = next(d for d in run.datasets if d.path == "data/prepared")
    said = prepared.annotations["dvc.workspace"]
    assert said.startswith("matches dvc.lock") and said.endswith("1 more file that .dvcignore leaves out of DVC's MD5)")
    assert isinstance(prepared.after, ContentHash)
    (fresh / "data" / "raw.csv").write_text("id,plan,months\n9,free,0\n")
    run = only(read(fresh, rehash=True))
    assert [n for n in run.notes if n.startswith(("changed since", "absent from"))] == [
        "changed since dvc.lock: data/raw.csv"
    ]


def test_dvcignore_hides_pipelines_and_dvc_files(fresh: Path) -> None:
    (fresh / "scratch").mkdir()
    (fresh / "scratch" / "dvc.yaml").write_text("stages:\n  junk:\n    cmd: echo\n")
    (fresh / "scratch" / "x.dvc").write_text("outs:\n- path: x\n  md5: 0123456789abcdef0123456789abcdef\n")
    (fresh / ".dvcignore").write_text("*.tmp\nscratch/\n")
    names = {s.name for s in only(read(fresh)).steps}
    assert names == {"data/raw.csv.dvc", "data/labels.csv.dvc", "prepare", "train"}
    (fresh / ".dvcignore").write_text("*.tmp\n")
    assert "scratch/dvc.yaml:junk" in {s.name for s in only(read(fresh)).steps}


def test_declared_requirements_from_the_root_and_stage_deps(fresh: Path) -> None:
    run = only(read(fresh))
    declared = run.declared
    assert isinstance(declared, DeclaredRequirements)
    files = {f.path: f for f in declared.files}
    assert set(files) == {"requirements.txt", "src/requirements-train.txt"}
    assert [(p.name, p.version) for p in files["requirements.txt"].pins] == [("pyyaml", "6.0.1"), ("numpy", None)]
    assert [(p.name, p.version) for p in files["src/requirements-train.txt"].pins] == [("scikit-learn", "1.3.2")]
    assert any(n.startswith("declared environment:") and "not what was installed" in n for n in run.notes)


def test_import_url_keeps_where_the_data_came_from(fresh: Path, tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text("id,score\n1,0.5\n")
    dvc(fresh, "import-url", "-q", str(source), "data/export.csv")
    run = only(read(fresh))
    datasets = {d.path: d for d in run.datasets}
    imported = datasets["data/export.csv"]
    assert imported.role == "input" and imported.annotations["dvc.import_url"] == str(source)
    assert imported.datasheet.source == f"dvc import-url of {source}"
    assert datasets[str(source)].role == "input"  # the URL itself, with the MD5 DVC recorded for it
    assert "data/export.csv.dvc" in {s.name for s in run.steps}
    assert stage_graph(build_record(run).lineage.graph) == dot_edges(dvc(fresh, "dag", "--dot"))  # type: ignore[union-attr]


def test_the_history_walk_is_bounded_and_batches_agree(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.ingest.dvc import history as walk

    whole = only(read(fresh))
    lock = walk.LockFile("dvc.lock", {"prepare": "prepare", "train": "train"})
    blocks = walk._blocks((fresh / "dvc.lock").read_bytes(), lock)  # the fast path reads DVC's own layout
    assert blocks is not None and set(blocks) == {"prepare", "train"}
    monkeypatch.setattr(walk, "BATCH", 1)  # one version per git process: the same answer
    one_by_one = only(read(fresh))
    assert (one_by_one.started_at, one_by_one.ended_at, one_by_one.time_note) == (
        whole.started_at,
        whole.ended_at,
        whole.time_note,
    )
    monkeypatch.setattr(walk, "_blocks", lambda text, lock: None)  # every version parsed: the same answer
    parsed = only(read(fresh))
    assert (parsed.started_at, parsed.ended_at, parsed.time_note) == (whole.started_at, whole.ended_at, whole.time_note)
    assert {s.name: s.annotations for s in parsed.steps} == {s.name: s.annotations for s in whole.steps}
    monkeypatch.setattr(walk, "MAX_COMMITS", 1)  # only the retrain commit: both may be older
    bounded = only(read(fresh))
    said = "times: dvc.lock: only the last 1 commits were read: stages prepare, train may have been committed earlier"
    assert said in bounded.notes


def test_many_dvc_files_are_dated_up_to_a_bound(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.ingest.dvc import history as walk

    monkeypatch.setattr(walk, "MAX_FILES", 2)  # dvc.lock first, then data/labels.csv.dvc; not data/raw.csv.dvc
    run = only(read(fresh))
    assert "times: only the first 2 of 3 lock and .dvc files were dated from git" in " ".join(run.notes)
    assert run.started_at == at(DATES["import"]) and run.ended_at == at(DATES["retrain"])
    assert "dvc.committed" not in {s.name: s for s in run.steps}["data/raw.csv.dvc"].annotations


def test_a_shallow_clone_says_its_dates_are_upper_bounds(built: History, tmp_path: Path) -> None:
    shallow = tmp_path / "shallow"
    git_at(tmp_path, DATES["add"], "clone", "-q", "--depth", "1", f"file://{built.project}", str(shallow))
    run = only(read(shallow))
    assert run.time_basis == "git_commit"
    assert run.started_at == run.ended_at == at(DATES["retrain"])  # the only commit there is
    assert "times: the git clone is shallow: a stage may have been committed earlier than shown" in run.notes


FIT = """\
import pickle
from sklearn.linear_model import LogisticRegression
rows = [line.split(",") for line in open("data/raw.csv").read().splitlines()[1:]]
model = LogisticRegression().fit([[float(r[2])] for r in rows], [r[1] == "pro" for r in rows])
pickle.dump(model, open("classifier.pkl", "wb"))
"""


def test_a_model_artifact_pickle_is_read_for_the_model_card(fresh: Path) -> None:
    """A stage (run by DVC with an interpreter that has scikit-learn) writes a real pickle."""
    import sys

    dvc(fresh, "pull", "-q")
    (fresh / "src" / "fit.py").write_text(FIT)
    command = f"{sys.executable} src/fit.py"
    dvc(fresh, "stage", "add", "-q", "-n", "fit", "-d", "data/raw.csv", "-o", "classifier.pkl", command)
    text = (fresh / "dvc.yaml").read_text()
    text = text.replace("artifacts:\n", "artifacts:\n  classifier:\n    path: classifier.pkl\n    type: model\n", 1)
    (fresh / "dvc.yaml").write_text(text)
    dvc(fresh, "repro", "-q", "fit")
    record = build_record(only(read(fresh)))
    cards = {m.id: m for m in record.model_card.models}  # type: ignore[union-attr]
    found = cards["classifier"].file
    assert not isinstance(found, Missing), found
    assert found.class_name == "LogisticRegression" and found.library == "scikit-learn"
    assert cards["classifier"].type is not None and cards["classifier"].type.value == "LogisticRegression"


def test_artifacts_of_a_dvc_yaml_in_a_folder_are_relative_to_it(fresh: Path) -> None:
    (fresh / "sub").mkdir()
    (fresh / "sub" / "dvc.yaml").write_text(
        "artifacts:\n  ranker:\n    path: ranker.json\n    type: model\n    desc: ranks\n"
        "  notes:\n    path: notes.md\n    type: doc\n"
        "stages:\n  rank:\n    cmd: echo {} > ranker.json\n    outs: [ranker.json]\n"
    )
    run = only(read(fresh))
    models = {m.id: m for m in run.models}
    assert set(models) == {"churn-model", "ranker"}
    assert models["ranker"].path == "sub/ranker.json" and models["ranker"].annotations["description"] == "ranks"
    assert {s.name: s for s in run.steps}["sub/dvc.yaml:rank"].outputs == ("ranker",)
    assert models["ranker"].annotations["dvc.artifact.dvc.yaml"] == "sub/dvc.yaml"
    assert "notes" not in models  # a `doc` artifact no stage uses is neither a model nor a dataset
