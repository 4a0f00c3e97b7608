"""The library API: load a run record and check it from Python, as `auditor check` does.

    import auditor

    record = auditor.load_record("latest", store=".auditor")     # or a record file: "run.json"
    report = auditor.check(record, policy="eu-ai-act")           # an auditor.check.report.CheckReport
    if report.with_waivers.exit_code != 0:
        ...

Both raise `auditor.errors.AuditorError` (with `.message` and `.exit_code`, the CLI's exit code) for
anything the CLI would report as one line: a missing run, a corrupt record, a bad pack. The package
exposes them lazily (`auditor.load_record`), so `import auditor` in a training script stays cheap.

`auditor.check` is also the name of this package: importing any of its modules binds the package to
that name, so the package itself is callable and calls `check` below (see auditor/check/__init__.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from auditor.check.report import CheckReport
from auditor.record.models import RunRecord
from auditor.vocabulary import Severity, VulnSource

__all__ = ["check", "load_record"]

PathLike = str | os.PathLike[str]


def load_record(ref: PathLike, *, store: PathLike | None = None) -> RunRecord:
    """A run record: from a file when `ref` is a path (a `Path`, or text ending in .json or holding a
    /), else the run `ref` names in the store (an id, a unique prefix, or `latest`), verified
    against the store's log. `store` defaults to $AUDITOR_STORE or ./.auditor."""
    from auditor.check.options import is_record_file
    from auditor.record.io import load_record as load_file

    if isinstance(ref, os.PathLike) or is_record_file(ref):
        return load_file(Path(ref))
    from auditor.store.runs import RunStore, default_store_path

    runs = RunStore.open(Path(store) if store is not None else default_store_path(Path.cwd()))
    return runs.load(runs.resolve(ref))


def check(
    record: RunRecord | PathLike,
    *,
    policy: str | Sequence[str] | None = None,
    store: PathLike | None = None,
    config: PathLike | None = None,
    waivers: PathLike | None = None,
    fail_on: Severity | None = None,
    vuln_source: VulnSource | None = None,
    advisory_db: PathLike | None = None,
    osv_url: str | None = None,
) -> CheckReport:
    """Check a record (a `RunRecord`, or a reference `load_record` takes) against policy packs: shipped
    pack names or pack files, else auditor.yaml's `policy:` section (found from the working folder,
    or `config`), else the default pack. The same settings, precedence and report as `auditor check`;
    the report's `with_waivers.exit_code` is the exit code the CLI would give."""
    from auditor.check.evaluate import run_check
    from auditor.check.options import CheckOptions, prepare
    from auditor.store.runs import default_store_path

    env = dict(os.environ)
    options = CheckOptions(
        run_ref="" if isinstance(record, RunRecord) else os.fspath(record),
        store=Path(store) if store is not None else default_store_path(Path.cwd(), env),
        cwd=Path.cwd(),
        config=Path(config) if config is not None else None,
        policies=(policy,) if isinstance(policy, str) else tuple(policy or ()),
        waivers=Path(waivers) if waivers is not None else None,
        fail_on=fail_on,
        vuln_source=vuln_source,
        advisory_db=Path(advisory_db) if advisory_db is not None else None,
        osv_url=osv_url,
    )
    return run_check(prepare(options, env, record if isinstance(record, RunRecord) else None))
