"""`auditor demo`: the sample project end to end, in a scratch store, to a dossier.

Capture (with lineage and fairness) -> check -> dossier.html and dossier.pdf. It needs the
repository checkout (the sample lives in samples/credit-scoring) and the sample's own
virtualenv, which `./dev setup` builds from its hash-pinned requirements.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auditor.check.report import CheckReport
from auditor.errors import UsageError
from auditor.record import RunRecord

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "credit-scoring"


@dataclass(frozen=True)
class DemoResult:
    record: RunRecord
    report: CheckReport
    files: tuple[Path, ...]
    pages: int | None


def run_demo(out_dir: Path, env: dict[str, str]) -> DemoResult:
    from auditor.capture.collect.probe_runner import start_probe
    from auditor.capture.execute.local import LocalExecutor
    from auditor.capture.request import CaptureRequest
    from auditor.capture.run import capture_run
    from auditor.check.options import CheckOptions, prepare
    from auditor.render.dossier.make import make_report
    from auditor.store.runs import RunStore

    python = SAMPLE / ".venv" / "bin" / "python"
    if not (SAMPLE / "auditor.yaml").is_file():
        raise UsageError(f"{SAMPLE}: the sample project is missing (auditor demo runs from the repository checkout)")
    if not python.exists():
        raise UsageError(f"{python}: the sample's virtualenv is missing: run `./dev setup` first")
    store = RunStore.create(out_dir.resolve() / "store")
    argv = [str(python), "run_pipeline.py"]
    executor = LocalExecutor(probe=start_probe(argv, env, str(SAMPLE)))
    request = CaptureRequest(argv=argv, cwd=SAMPLE, env=env, executor=executor, name="demo", project="credit-scoring")
    record = capture_run(store, request)
    if record.identity.status != "succeeded":
        raise UsageError(f"the sample's training run {record.identity.status} (exit {record.identity.exit_code})")
    options = CheckOptions(run_ref=record.identity.run_id, store=store.root, cwd=SAMPLE)
    written = make_report(prepare(options, env), out_dir, ("html", "pdf"), pdfa=True)
    return DemoResult(record=record, report=written.report, files=written.files, pages=written.pdf_pages)
