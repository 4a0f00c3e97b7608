"""No Python `None`, repr or surprise mask in any text a user reads.

Every message path is rendered through the CLI, as a user would see it: `runs`, `show` and
`check` (every check kind of the default and EU AI Act packs) on runs that real tools wrote or
auditor captured - ingested MLflow runs (finished and still running), an OpenLineage run with no
terminal event, a DVC pipeline, a captured run that failed, records with every optional part
missing - and the CLI's errors. None of these runs holds a secret, so no mask may appear.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from auditor.ingest.store import commit
from auditor.record.models import Missing, RunRecord
from auditor.store.runs import RunStore
from tests.conftest import ADVISORY_SNAPSHOT, CliRunner, base_env, git
from tests.factories import make_record
from tests.ingest.conftest import tool_python
from tests.ingest.test_openlineage import produce

FORBIDDEN = (
    (re.compile(r"\bNone\b"), "Python's None"),
    (re.compile(r"<class '|<function |<built-in |object at 0x"), "a Python object repr"),
    (re.compile(r"(?<!log_params\()\{'[^']*': "), "a Python dict repr"),  # not the API's example
    (re.compile(r"\[REDACTED"), "a mask, though no run here holds a secret"),
)
# auditor's own tracebacks; a failed run's recorded stack trace (OpenLineage's errorMessage facet) is evidence
TRACEBACK = (re.compile(r"Traceback \(most recent call last\)"), "a traceback")

MLFLOW_SCRIPT = """import sys, mlflow
from mlflow.tracking import MlflowClient
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("text")
with mlflow.start_run(run_name="finished"):
    mlflow.log_params({"C": 0.5, "layers": "[64, 32]"})
    mlflow.log_metric("auc", 0.9)
client = MlflowClient()
experiment = client.get_experiment_by_name("text").experiment_id
running = client.create_run(experiment, run_name="still-running")
client.log_param(running.info.run_id, "lr", "0.1")
"""


def offending(text: str, stderr: str = "") -> list[str]:
    found = [f"{TRACEBACK[1]}: {stderr.strip()[:200]}"] if TRACEBACK[0].search(stderr) else []
    for line in (text + "\n" + stderr).splitlines():
        for pattern, what in FORBIDDEN:
            if pattern.search(line):
                found.append(f"{what}: {line.strip()[:200]}")
    return found


def _env(tmp_path: Path) -> dict[str, str]:
    return base_env(AUDITOR_ADVISORY_DB=str(ADVISORY_SNAPSHOT), AUDITOR_CACHE_DIR=str(tmp_path / "cache"))


def _bare(run_id: str) -> RunRecord:
    """A record with every optional part missing: the renderers' and checks' worst case."""
    record = make_record(run_id, exit_code=None, status="interrupted")
    gone = Missing(reason="not captured in this test")
    return record.model_copy(update={"source": gone, "lineage": gone, "fairness": gone, "model_card": gone})


def _populate(root: Path, store: Path, env: dict[str, str], cli: CliRunner) -> None:
    """Runs of every origin and state, in one store."""
    work = root / "mlflow"
    work.mkdir()
    (work / "script.py").write_text(MLFLOW_SCRIPT)
    tool_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "USER": "analyst"}
    tool_env |= {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "GIT_PYTHON_REFRESH": "quiet"}
    subprocess.run(
        [str(tool_python("mlflow3")), "script.py", f"sqlite:///{work}/mlflow.db"],
        cwd=work, env=tool_env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    done = cli("ingest", "mlflow", str(work / "mlflow.db"), "--store", str(store), cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    assert offending(done.stdout, done.stderr) == []

    events = root / "ol" / "events.jsonl"
    produce(events, "append")
    unfinished = [json.loads(line) for line in events.read_text().splitlines()]
    first_run = unfinished[0]["run"]["runId"]
    kept = [e for e in unfinished if e["run"]["runId"] != first_run or e["eventType"] == "START"]
    events.write_text("".join(json.dumps(e) + "\n" for e in kept))
    done = cli("ingest", "openlineage", str(events), "--store", str(store), cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    assert offending(done.stdout, done.stderr) == []

    project = root / "project"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    (project / "train.py").write_text(
        "import sys, auditor\n"
        "auditor.log_params({'seed': None, 'shuffle': True, 'acts': ['relu', 'tanh'], 'lr': 0.1})\n"
        "auditor.log_metric('loss', 0.5)\nsys.exit(3)\n"
    )
    git(project, "add", "-A")
    git(project, "commit", "-qm", "train")
    done = cli("run", "--store", str(store), "--", "python", "train.py", cwd=project, env=env)
    assert done.returncode == 3
    assert offending(done.stdout, done.stderr) == []

    pipeline = root / "pipeline"
    (pipeline / "data").mkdir(parents=True)
    (pipeline / "data" / "raw.csv").write_text("x\n1\n2\n")
    (pipeline / "prepare.py").write_text("open('clean.csv', 'w').write(open('data/raw.csv').read())\n")
    git(pipeline, "init", "-q", "-b", "main")
    dvc = str(tool_python("dvc").parent / "dvc")
    for argv in (
        [dvc, "init", "-q"],
        [dvc, "stage", "add", "-q", "-n", "prepare", "-d", "data/raw.csv", "-o", "clean.csv", "python prepare.py"],
        [dvc, "repro", "-q"],
    ):
        subprocess.run(argv, cwd=pipeline, env=env, check=True, capture_output=True, timeout=120)
    git(pipeline, "add", "-A")
    git(pipeline, "commit", "-qm", "pipeline")
    done = cli("ingest", "dvc", str(pipeline), "--store", str(store), cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    assert offending(done.stdout, done.stderr) == []

    target = RunStore.create(store)
    commit(target, _bare("01JGZ0000000000000000000BB"))
    unfinished = make_record(
        "01JGZ0000000000000000000CC", ended_at=None, duration_s=None, exit_code=None, status="unfinished"
    )
    resources = unfinished.resources.model_copy(update={"wall_s": None})
    commit(target, unfinished.model_copy(update={"resources": resources}))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    from tests.conftest import AUDITOR

    root = tmp_path_factory.mktemp("usertext")
    store = root / "store"

    def cli(*args: str, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AUDITOR), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )

    _populate(root, store, _env(root), cli)
    run_ids = sorted(p.name for p in (store / "runs").iterdir())
    return root, store, run_ids


def test_runs_lists_every_run_plainly(store: tuple[Path, Path, list[str]], cli: CliRunner) -> None:
    root, path, run_ids = store
    done = cli("runs", "--store", str(path), cwd=root, env=_env(root))
    assert done.returncode == 0, done.stderr
    assert len(run_ids) == 8
    assert offending(done.stdout, done.stderr) == []


def test_show_and_check_every_run_plainly(store: tuple[Path, Path, list[str]], cli: CliRunner) -> None:
    root, path, run_ids = store
    env = _env(root)
    problems: dict[str, list[str]] = {}
    for run_id in run_ids:
        checks = [
            ("check", run_id, "--policy", "eu-ai-act", "--format", f) for f in ("text", "github", "junit", "sarif")
        ]
        for args in (("show", run_id), *checks):
            done = cli(*args, "--store", str(path), cwd=root, env=env, timeout=300)
            assert done.returncode in (0, 1, 3), done.stderr
            found = offending(done.stdout, done.stderr)
            if found:
                problems[f"{args[0]} {run_id}"] = found
    assert problems == {}


def _html_text(html_text: str) -> str:
    """The words of an HTML page, one line per block, without styles, scripts or tags."""
    body = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", html_text, flags=re.DOTALL | re.IGNORECASE)
    body = re.sub(r"<(br|/p|/div|/tr|/li|/h[1-6]|/td|/th)\b[^>]*>", "\n", body, flags=re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_the_dossier_of_every_run_is_plain(store: tuple[Path, Path, list[str]], cli: CliRunner) -> None:
    root, path, run_ids = store
    problems: dict[str, list[str]] = {}
    for run_id in run_ids:
        out = root / "dossiers" / run_id
        done = cli("report", run_id, "--store", str(path), "--policy", "eu-ai-act", "--format", "html", "-o", str(out),
                   cwd=root, env=_env(root), timeout=300)  # fmt: skip
        assert done.returncode in (0, 1, 3), done.stderr
        found = offending(done.stdout + _html_text((out / "dossier.html").read_text()), done.stderr)
        if found:
            problems[run_id] = found
    assert problems == {}


def test_an_unpinned_requirement_is_named_plainly(tmp_path: Path, cli: CliRunner) -> None:
    """The pinning rule on a declared requirement with no version (helper "checks" fixes its message)."""
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "requirements.txt").write_text("numpy\npandas>=2\n")
    (tmp_path / "auditor.yaml").write_text(
        "version: 1\nproject: {name: p}\nenvironment: {requirements: [requirements.txt]}\n"
    )
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "p")
    env = _env(tmp_path)
    assert cli("run", "--", "python", "-c", "pass", cwd=tmp_path, env=env).returncode == 0
    done = cli("check", "latest", "--policy", "default", cwd=tmp_path, env=env)
    assert done.returncode in (1, 3), done.stderr
    assert "numpy" in done.stdout
    assert offending(done.stdout, done.stderr) == []


@pytest.mark.parametrize(
    "args",
    [
        ("show", "01JGZ0000000000000000000ZZ"),
        ("check", "latest", "--policy", "no-such-pack"),
        ("ingest", "mlflow", "/nonexistent/mlruns"),
        ("ingest", "dvc", "/nonexistent"),
        ("reproduce", "01JGZ0000000000000000000BB"),
        ("run",),
        ("check", "latest", "--fail-on", "worst"),
        ("report", "01JGZ0000000000000000000ZZ"),
    ],
)
def test_cli_errors_are_plain(args: tuple[str, ...], store: tuple[Path, Path, list[str]], cli: CliRunner) -> None:
    root, path, _ = store
    done = cli(*args, "--store", str(path), cwd=root, env=_env(root))
    assert done.returncode != 0
    assert done.stderr.strip(), "an error says what went wrong"
    assert offending(done.stdout, done.stderr) == []
