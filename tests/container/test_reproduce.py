"""`auditor reproduce`: each verdict proven against the real engine (and a local run)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from auditor.record import load_record
from auditor.record.models import RunRecord
from auditor.store.log import build
from auditor.store.runs import record_entry
from tests.conftest import REPO, CliRunner, base_env, git
from tests.container.conftest import BASE_IMAGE, podman
from tests.container.test_container_run import make_project


def verdict(stdout: str) -> str:
    """The verdict line; the re-run command's own output comes before it."""
    return next(line for line in stdout.splitlines() if line.startswith("verdict: "))


def run_ids(root: Path) -> list[str]:
    return sorted(p.name for p in (root / ".auditor" / "runs").iterdir())


def latest(root: Path) -> RunRecord:
    return load_record(root / ".auditor" / "runs" / run_ids(root)[-1] / "record.json")


def test_identical_equivalent_diverged_and_inputs_changed(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    root = make_project(tmp_path / "proj")
    assert cli("run", "--image", BASE_IMAGE, "--", "python3", "train.py", cwd=root, env=engine_env).returncode == 0
    [original] = run_ids(root)

    done = cli("reproduce", original, cwd=root, env=engine_env)
    assert done.returncode == 0, done.stderr
    assert verdict(done.stdout).startswith("verdict: identical")
    again = latest(root)
    assert again.links.reproduces == original
    assert again.reproduction is not None and again.reproduction.verdict == "identical"
    assert again.reproduction.inputs_checked == ("table",)
    assert (
        again.container is not None
        and again.container.image_id
        == load_record(root / ".auditor" / "runs" / original / "record.json").container.image_id
    )  # type: ignore[union-attr]
    edges = getattr(again.lineage, "graph", {})["edges"]
    assert {"source": f"run:{again.identity.run_id}", "target": f"run:{original}", "kind": "reproduces"} in edges

    (root / "noise.txt").write_text("1e-12")  # a float printed differently: files differ, the metric barely
    done = cli("reproduce", original, cwd=root, env=engine_env)
    assert done.returncode == 0, done.stderr
    assert verdict(done.stdout).startswith("verdict: equivalent")
    repro = latest(root).reproduction
    assert repro is not None and repro.verdict == "equivalent"
    assert {(d.kind, d.name, d.within_tolerance) for d in repro.differences} == {
        ("output", "dataset:scores", True),
        ("metric", "accuracy", True),
    }

    (root / "noise.txt").write_text("0.01")  # a real change
    done = cli("reproduce", original, cwd=root, env=engine_env)
    assert done.returncode == 1
    assert verdict(done.stdout).startswith("verdict: diverged")
    assert "accuracy: 0.75 -> 0.76  OUTSIDE tolerance" in done.stdout
    done = cli("reproduce", original, "--tolerance", "accuracy=abs:0.1", cwd=root, env=engine_env)
    assert done.returncode == 0 and verdict(done.stdout).startswith("verdict: equivalent")

    shown = cli("show", original, cwd=root, env=engine_env).stdout
    verdicts = shown.split("Reproductions", 1)[1].strip().split("\nDiscussion", 1)[0]  # the discussion follows
    assert [line.split()[1] for line in verdicts.strip().splitlines()] == [
        "identical",
        "equivalent,",
        "diverged,",
        "equivalent,",
    ]

    before = run_ids(root)
    (root / "data" / "in.csv").write_text("a,b\n1,3\n")
    done = cli("reproduce", original, cwd=root, env=engine_env)
    assert done.returncode == 3
    assert "verdict: inputs changed" in done.stderr and "table: recorded" in done.stderr
    assert run_ids(root) == before  # nothing ran, nothing was recorded


def test_the_exact_image_or_nothing(cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    tag = f"localhost/auditor-throwaway:{uuid.uuid4().hex[:8]}"
    (context / "Containerfile").write_text(f"FROM {BASE_IMAGE}\nLABEL auditor.test={tag}\n")
    podman("build", "-q", "--network", "none", "-t", tag, str(context))
    root = make_project(tmp_path / "proj")
    assert cli("run", "--image", tag, "--", "python3", "train.py", cwd=root, env=engine_env).returncode == 0
    [original] = run_ids(root)
    podman("rmi", tag)
    podman("tag", BASE_IMAGE, tag)  # the same tag now names another image: it must not be used
    try:
        done = cli("reproduce", original, cwd=root, env=engine_env)
    finally:
        podman("rmi", tag)
    assert done.returncode == 3
    assert "is not available in the container engine" in done.stderr
    assert run_ids(root) == [original]


def test_local_runs_reproduce_and_a_changed_environment_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    root = make_project(tmp_path / "proj")
    python = str(venv / "bin" / "python")
    assert cli("run", "--", python, "train.py", cwd=root, env=base_env()).returncode == 0
    [original] = run_ids(root)
    done = cli("reproduce", original, cwd=root, env=base_env())
    assert done.returncode == 0, done.stderr
    assert verdict(done.stdout).startswith("verdict: identical")
    assert "the same interpreter" in done.stdout

    wheel = next((REPO / ".cache" / "wheelhouse").glob("setuptools-*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-index", "--no-deps", str(wheel)],
        check=True,
    )
    done = cli("reproduce", original, cwd=root, env=base_env())
    assert done.returncode == 3
    assert "the environment differs" in done.stderr and "setuptools" in done.stderr
    assert len(run_ids(root)) == 2


def test_a_tampered_record_cannot_widen_the_mounts(cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]) -> None:
    root = make_project(tmp_path / "proj")
    assert cli("run", "--image", BASE_IMAGE, "--", "python3", "train.py", cwd=root, env=engine_env).returncode == 0
    [original] = run_ids(root)
    path = root / ".auditor" / "runs" / original / "record.json"
    text = path.read_text()
    path.write_text(text.replace(f'"source": "{root}/outputs"', '"source": "/"'))
    assert path.read_text() != text
    done = cli("reproduce", original, cwd=root, env=engine_env)
    assert done.returncode == 4  # the store refuses a record that changed since auditor wrote it
    assert "changed since auditor recorded it" in done.stderr
    # A forger who also rewrites the store's whole log and its heads (the same user can; only a head
    # published elsewhere shows it) still meets the mount check: a record is untrusted input even
    # when the store vouches for it.
    log = root / ".auditor" / "log"
    shutil.rmtree(log)
    build(log, [record_entry(original, hashlib.sha256(path.read_bytes()).hexdigest())])
    done = cli("reproduce", original, cwd=root, env=engine_env)
    assert done.returncode == 2
    assert "writable mount / is not a folder inside" in done.stderr
    assert run_ids(root) == [original]


def test_a_rerun_that_fails_is_not_a_reproduction(cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]) -> None:
    root = make_project(tmp_path / "proj")
    assert cli("run", "--image", BASE_IMAGE, "--", "python3", "train.py", cwd=root, env=engine_env).returncode == 0
    [original] = run_ids(root)
    (root / "noise.txt").write_text("not a number")  # the re-run crashes; the old outputs are still there
    done = cli("reproduce", original, cwd=root, env=engine_env)
    assert done.returncode == 1
    assert verdict(done.stdout) == "verdict: diverged"
    assert "run     outcome: succeeded, exit 0 -> failed, exit 1  NOT REPRODUCED" in done.stdout
    assert "not written by the re-run" in done.stdout


def test_preconditions_refuse_before_anything_runs(cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]) -> None:
    root = make_project(tmp_path / "proj")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "train")
    assert cli("run", "--image", BASE_IMAGE, "--", "python3", "train.py", cwd=root, env=engine_env).returncode == 0
    [original] = run_ids(root)
    store = str(root / ".auditor")

    done = cli("reproduce", original, "--store", store, cwd=tmp_path, env=engine_env)
    assert done.returncode == 2 and "from the original run's project folder" in done.stderr

    (root / "train.py").write_text((root / "train.py").read_text() + "# changed\n")
    done = cli("reproduce", original, cwd=root, env=engine_env)
    assert done.returncode == 3 and "the code changed since the original run" in done.stderr

    bare = tmp_path / "bare"
    bare.mkdir()
    assert cli("run", "--image", BASE_IMAGE, "--", "python3", "-c", "pass", cwd=bare, env=engine_env).returncode == 0
    done = cli("reproduce", "latest", cwd=bare, env=engine_env)
    assert done.returncode == 3 and "there is nothing to compare" in done.stderr
    assert run_ids(root) == [original] and len(run_ids(bare)) == 1
