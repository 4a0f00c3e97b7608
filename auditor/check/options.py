"""`auditor check` from its options: settings resolved, inputs loaded, report rendered.

Precedence for every setting: the command line, then the environment (`AUDITOR_ADVISORY_DB`),
then the `policy:` section of auditor.yaml, then the defaults (for the vulnerability source: the
database `auditor advisories update` installed, else the OSV API). Paths written in auditor.yaml are
relative to it. Every input that cannot be read is a one-line error with exit 2, before any
evaluation; a vulnerability source that cannot be used is not an input error but an outcome
("could not evaluate", exit 3).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from auditor.check.checks import REGISTRY
from auditor.check.evaluate import CheckRequest
from auditor.check.locations import places
from auditor.check.packs import Pack, load_packs, pack_path
from auditor.check.vulns.sources import SourceChoice
from auditor.check.waivers import MAX_WAIVERS_BYTES, Waiver, WaiverError, parse_waivers
from auditor.errors import AuditorError, RunNotFoundError, StoreError, UsageError
from auditor.files import exists
from auditor.project.policy import Override, PolicySettings
from auditor.project.spec import MAX_SPEC_BYTES, SpecError, find_spec, load_spec
from auditor.project.yamlfile import line_of, read_text
from auditor.record.io import parse_record, read_record_bytes, record_digest
from auditor.record.models import RunRecord
from auditor.vocabulary import Severity, VulnSource


@dataclass(frozen=True)
class CheckOptions:
    run_ref: str
    store: Path
    cwd: Path
    config: Path | None = None
    policies: tuple[str, ...] = ()
    waivers: Path | None = None
    fail_on: Severity | None = None
    vuln_source: VulnSource | None = None
    advisory_db: Path | None = None
    osv_url: str | None = None
    max_db_age: int | None = None
    now: datetime | None = None


IN_MEMORY = Path("(a record in memory)")


def prepare(
    options: CheckOptions, env: dict[str, str], record: RunRecord | None = None, *, early_advisories: bool = False
) -> CheckRequest:
    """The request for `options`; with `record` (the library API: `auditor.check(record)`), that record
    instead of `options.run_ref`, checked as a loose record file is: no file it names is read.

    `early_advisories` (the one-shot CLI, which ends what it started with `osv_index.stop_early`): an
    advisory folder that no cached index serves starts being parsed by worker processes before the
    record is read, so the two overlap (a cold check of 2,661 PyPA advisories: about half a second)."""
    config = options.config or find_spec(options.cwd)  # present but unreadable is an error, not "no spec"
    settings = load_spec(config).policy if config is not None else PolicySettings()
    base = config.parent if config is not None else options.cwd
    pack = _start_advisories(options, settings, config, base, env) if early_advisories and record is None else None
    if record is None:
        # the digest of the bytes read, which parse_record took as it read them (12.8 MB are not hashed again)
        record_path, record, run_folder = _load_record(options)
    else:
        record_path, run_folder = IN_MEMORY, None
    digest = record_digest(record)
    waivers_path = options.waivers or (base / settings.waivers if settings.waivers else None)
    waivers, waivers_file = _waivers(waivers_path) if waivers_path is not None else ((), None)
    return CheckRequest(
        record=record,
        record_path=record_path,
        run_folder=run_folder,
        record_sha256=digest,
        pack=pack if pack is not None else _packs(options, settings, config, base),
        fail_on=options.fail_on or settings.fail_on,
        location=_location(record_path, config, options.cwd),
        places=places(record, config, options.cwd),
        now=options.now or datetime.now(UTC),
        waivers=waivers,
        waivers_file=waivers_file,
        vuln_source=_vuln_choice(options, settings, base, env),
        max_db_age_days=options.max_db_age if options.max_db_age is not None else settings.vulnerabilities.max_age_days,
        stale_fails=settings.vulnerabilities.on_stale == "fail",
        config=str(config) if config is not None else None,
        cache_dir=_cache_dir(env),
    )


def _cache_dir(env: dict[str, str]) -> Path:
    return Path(env.get("AUDITOR_CACHE_DIR") or Path.home() / ".cache" / "auditor")


def _start_advisories(
    options: CheckOptions, settings: PolicySettings, config: Path | None, base: Path, env: dict[str, str]
) -> Pack | None:
    """Start parsing the local advisory folder the check will use, when it will use one: a rule of the
    pack asks for vulnerabilities. Best effort: a choice or a pack that is an error is reported where
    it always is, by the request (after the record is read). The pack, when it was loaded here."""
    try:
        choice = _vuln_choice(options, settings, base, env)
        if choice.source != "local" or choice.database is None:
            return None
        pack = _packs(options, settings, config, base)
    except AuditorError:
        return None
    if any(REGISTRY[r.rule.check.kind].needs_vulns for r in pack.rules):
        from auditor.check.vulns.osv_index import start_early

        start_early(choice.database, _cache_dir(env))
    return pack


def is_record_file(run_ref: str) -> bool:
    """RUN names a record FILE only when it is clearly a path: it ends in .json or holds a slash.
    Anything else (`latest`, an id, a prefix) is a run in the store, even when a file of that
    name lies in the working folder: a run's command can leave one there."""
    return run_ref.endswith(".json") or "/" in run_ref or os.sep in run_ref


def _load_record(options: CheckOptions) -> tuple[Path, RunRecord, Path | None]:
    """The record's path and model (read from bytes: `record_digest` is theirs), and its run folder
    when it is a run the store verified (None for a loose file: nothing the record names is read then)."""
    ref = options.run_ref
    if is_record_file(ref):
        path = options.cwd / ref
        if not exists(path):
            raise UsageError(f"{path}: no such record file")
        raw = read_record_bytes(path)  # a FIFO, a device or a file over the cap is refused here
        return path, parse_record(raw, str(path)), None
    from auditor.store.runs import RunStore

    try:
        store = RunStore.open(options.store)
        run_id = store.resolve(ref)
    except (StoreError, RunNotFoundError) as exc:
        if exists(options.cwd / ref):
            raise type(exc)(f"{exc.message} ({ref!r} is a run in the store; for the file, write ./{ref})") from exc
        raise
    record = store.load(run_id)
    return store.record_path(run_id), record, store.run_folder(run_id)


def _waivers(path: Path) -> tuple[tuple[Waiver, ...], tuple[str, str]]:
    """The waivers and (file, sha256 of the bytes read): read once, so both describe the same file."""
    text = read_text(path, WaiverError, "a waivers file", MAX_WAIVERS_BYTES)
    return parse_waivers(text, path), (str(path), hashlib.sha256(text.encode()).hexdigest())


def _packs(options: CheckOptions, settings: PolicySettings, config: Path | None, base: Path) -> Pack:
    names = [(p, options.cwd) for p in options.policies] or [(p, base) for p in settings.packs]
    paths = [pack_path(name, folder) for name, folder in names]
    return load_packs(paths, _overrides(settings, config))


def _overrides(settings: PolicySettings, config: Path | None) -> tuple[tuple[str, Override, str], ...]:
    """Each override with 'auditor.yaml:12', where it is written, for messages (the file parsed once)."""
    if not settings.overrides:
        return ()
    root = None
    if config is not None:
        from auditor.project.yamlfile import load_yaml

        _, root = load_yaml(read_text(config, SpecError, "auditor.yaml", MAX_SPEC_BYTES), config)
    out = []
    for rule_id, override in settings.overrides.items():
        line = line_of(root, ("policy", "overrides", rule_id)) if root is not None else None
        out.append((rule_id, override, f"{config}:{line}" if line else str(config or "overrides")))
    return tuple(out)


def _location(record_path: Path, config: Path | None, cwd: Path) -> str:
    """What SARIF and Code Quality point a finding without a place of its own at: the record when it
    lies in the repository (the working folder), else auditor.yaml when that does, else the record's
    absolute path (which code scanning cannot show, but which names the file)."""
    for target in (record_path, config):
        if target is None:
            continue
        try:
            return target.resolve().relative_to(cwd.resolve()).as_posix()
        except ValueError:
            continue
    return record_path.resolve().as_posix()


def _vuln_choice(options: CheckOptions, settings: PolicySettings, base: Path, env: dict[str, str]) -> SourceChoice:
    vs = settings.vulnerabilities
    database = options.advisory_db
    if database is None and env.get("AUDITOR_ADVISORY_DB"):
        database = Path(env["AUDITOR_ADVISORY_DB"])
    if database is None and vs.database:
        database = base / vs.database
    osv_url = options.osv_url or vs.osv_url
    source = options.vuln_source or vs.source or ("local" if database is not None else None)
    if database is None and source in ("local", None) and osv_url is None:  # `auditor advisories update`'s
        from auditor.check.vulns.installed import advisories_home, installed_folder

        database = installed_folder(advisories_home(env))
        source = source or ("local" if database is not None else None)
    source = source or "osv"
    if source == "local" and database is None:
        raise UsageError(
            "--vuln-source local needs --advisory-db DIR (or AUDITOR_ADVISORY_DB, or policy.vulnerabilities.database)"
        )
    if osv_url is not None and source != "osv":
        raise UsageError(f"--osv-url works with --vuln-source osv, not {source}")
    return SourceChoice(source=source, database=database, osv_url=osv_url, timeout_s=vs.timeout_s)
