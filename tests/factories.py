"""Hand-built records with fixed clocks and ids, for tests that need no real capture."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from auditor.record.models import (
    CpuInfo,
    Distribution,
    Environment,
    EnvVar,
    GitSource,
    Hardware,
    Identity,
    LogFile,
    MemoryInfo,
    Missing,
    NoGpu,
    Origin,
    OsInfo,
    Outputs,
    Packages,
    PythonInfo,
    Resources,
    RunRecord,
    TimezoneInfo,
)

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
END = datetime(2026, 1, 2, 3, 5, 5, tzinfo=UTC)


def make_record(run_id: str = "01JGZ0000000000000000000AA", **identity: object) -> RunRecord:
    fields: dict[str, object] = {
        "run_id": run_id,
        "project": "demo",
        "argv": ("python", "train.py"),
        "cwd": "/work/demo",
        "started_at": START,
        "ended_at": END,
        "duration_s": 60.0,
        "exit_code": 0,
        "status": "succeeded",
        "user": "alice",
        "host": "box",
        "auditor_version": "0.1.0",
    }
    fields.update(identity)
    log = LogFile(path="stdout.log", bytes=0, sha256="0" * 64, redactions=0)
    return RunRecord(
        identity=Identity.model_validate(fields),
        origin=Origin(kind="executed", executor="local"),
        source=GitSource(
            root="/work/demo",
            commit="a" * 40,
            branch="main",
            dirty=False,
            diff_sha256=None,
            untracked=(),
            untracked_count=0,
            remote_url="https://example.invalid/demo.git",
        ),
        environment=Environment(
            os=OsInfo(
                system="Linux",
                distribution_id="debian",
                distribution_version="12",
                pretty_name="Debian GNU/Linux 12 (bookworm)",
                kernel="6.1.0",
                architecture="x86_64",
                libc="glibc 2.36",
            ),
            python=PythonInfo(
                version="3.11.7",
                implementation="CPython",
                executable="/venv/bin/python",
                prefix="/venv",
                base_prefix="/usr",
                is_virtualenv=True,
                resolved_from="argv",
                sys_path=("/venv/lib/python3.11/site-packages",),
            ),
            packages=Packages(
                distributions=(
                    Distribution(
                        name="numpy",
                        version="2.1.0",
                        installer="pip",
                        requested=True,
                        install_kind="index",
                        location="/venv/lib/python3.11/site-packages",
                    ),
                )
            ),
            locale=Missing(reason="not captured in this test"),
            timezone=TimezoneInfo(name="Etc/UTC", utc_offset="+0000"),
            variables=(EnvVar(name="PATH", disposition="kept", value="/usr/bin"),),
        ),
        hardware=Hardware(
            cpu=CpuInfo(model="Test CPU", architecture="x86_64", physical_cores=2, logical_cores=4),
            memory=MemoryInfo(total_bytes=8 * 2**30),
            gpus=NoGpu(reason="no NVIDIA driver found"),
        ),
        resources=Resources(wall_s=60.0, user_cpu_s=50.0, system_cpu_s=1.0, peak_rss_bytes=2**30),
        outputs=Outputs(stdout=log, stderr=log.model_copy(update={"path": "stderr.log"})),
    )


def log_record(store_root: Path, run_id: str) -> None:
    """Append the log entry that vouches for runs/RUN_ID/record.json as it is now: what auditor
    writes when it commits a run, for a folder a test put there by hand (a store with a log)."""
    from auditor.store.runs import RunStore

    raw = (store_root / "runs" / run_id / "record.json").read_bytes()
    entry = {"v": 1, "kind": "record", "run_id": run_id, "sha256": hashlib.sha256(raw).hexdigest()}
    RunStore.create(store_root).append_entry(entry)
