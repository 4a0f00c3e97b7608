"""`auditor demo`: the sample project end to end, in a scratch store, to a dossier.

Capture (with lineage and fairness) -> check -> dossier.html and dossier.pdf.

From a repository checkout, the sample runs where it lies (samples/credit-scoring) with the
virtualenv `./dev setup` built for it. From an installed wheel, the sample shipped inside the package
is copied into the output folder and its virtualenv is built once, from its hash-pinned
requirements, into auditor's cache (pip, from PyPI or whatever index pip is configured to use).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from auditor.check.report import CheckReport
from auditor.errors import UsageError
from auditor.record import RunRecord

CHECKOUT_SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "credit-scoring"
SHIPPED_SAMPLE = Path(__file__).resolve().parent / "sample"
SAMPLE_PYTHON = (3, 11)  # the sample's requirements pin CPython 3.11 wheels (manylinux x86_64)
PIP_TIMEOUT_S = 1800


@dataclass(frozen=True)
class DemoResult:
    record: RunRecord
    report: CheckReport
    files: tuple[Path, ...]
    pages: int | None


def run_demo(out_dir: Path, env: dict[str, str], say: Callable[[str], None] = lambda _: None) -> DemoResult:
    from auditor.capture.collect.probe_runner import start_probe
    from auditor.capture.execute.local import LocalExecutor
    from auditor.capture.request import CaptureRequest
    from auditor.capture.run import capture_run
    from auditor.check.options import CheckOptions, prepare
    from auditor.render.dossier.make import make_report
    from auditor.store.runs import RunStore

    sample, python = _sample(out_dir, env, say)
    store = RunStore.create(out_dir.resolve() / "store")
    argv = [str(python), "run_pipeline.py"]
    executor = LocalExecutor(probe=start_probe(argv, env, str(sample)))
    request = CaptureRequest(argv=argv, cwd=sample, env=env, executor=executor, name="demo", project="credit-scoring")
    record = capture_run(store, request)
    if record.identity.status != "succeeded":
        raise UsageError(f"the sample's training run {record.identity.status} (exit {record.identity.exit_code})")
    options = CheckOptions(run_ref=record.identity.run_id, store=store.root, cwd=sample)
    written = make_report(prepare(options, env), out_dir, ("html", "pdf"), pdfa=True)
    return DemoResult(record=record, report=written.report, files=written.files, pages=written.pdf_pages)


def _sample(out_dir: Path, env: dict[str, str], say: Callable[[str], None]) -> tuple[Path, Path]:
    """The sample's folder and its interpreter: the checkout's, or the shipped copy's."""
    checkout_python = CHECKOUT_SAMPLE / ".venv" / "bin" / "python"
    if (CHECKOUT_SAMPLE / "auditor.yaml").is_file():
        if not checkout_python.exists():
            raise UsageError(f"{checkout_python}: the sample's virtualenv is missing: run `./dev setup` first")
        return CHECKOUT_SAMPLE, checkout_python
    if not (SHIPPED_SAMPLE / "auditor.yaml").is_file():
        raise UsageError(f"{SHIPPED_SAMPLE}: the sample project is missing from this installation of auditor")
    project = out_dir.resolve() / "project"
    if project.exists():
        shutil.rmtree(project)
    shutil.copytree(SHIPPED_SAMPLE, project, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    return project, _sample_venv(project / "requirements.txt", env, say)


def _sample_venv(requirements: Path, env: dict[str, str], say: Callable[[str], None]) -> Path:
    """The sample's virtualenv in auditor's cache, built once per requirements file (pip --require-hashes)."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    cache = Path(env.get("AUDITOR_CACHE_DIR") or Path.home() / ".cache" / "auditor")
    target = cache / "sample-venv" / digest
    python = target / "bin" / "python"
    if (target / ".complete").is_file() and python.exists():
        return python
    base = _sample_interpreter()
    building = target.with_name(f"{digest}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    say(f"preparing the sample's virtualenv in {target} (once; pip installs its pinned requirements)")
    steps = (
        [base, "-m", "venv", str(building)],
        [
            str(building / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--require-hashes",
            "-r",
            str(requirements),
        ],
    )
    for argv in steps:
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(building, ignore_errors=True)
            raise UsageError(f"the sample's virtualenv could not be built: {exc}") from exc
        if done.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            last = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "no message")
            raise UsageError(f"the sample's virtualenv could not be built ({argv[2]} failed): {last.strip()}")
    (building / ".complete").write_text("ok\n")
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)
    return python


def _sample_interpreter() -> str:
    """A CPython 3.11: the sample's pinned wheels are built for it."""
    if sys.version_info[:2] == SAMPLE_PYTHON:
        return sys.executable
    found = shutil.which("python3.11")
    if found is None:
        raise UsageError(
            "the sample's requirements pin wheels for CPython 3.11 and no python3.11 is on PATH: "
            "install Python 3.11, or try auditor on your own project with `auditor init` and `auditor run`"
        )
    return found
