"""The run record: immutable, versioned, validated evidence about one ML run.

Every section that auditor may fail to capture is a union with `Missing`, so a
reader (a policy rule, a dossier) always sees *why* evidence is absent instead of
an empty value that looks like success. Sections are told apart by their
`state` field, which is also what the committed JSON Schema discriminates on.

Compatibility: readers accept every version in `SUPPORTED_SCHEMA_VERSIONS`; older ones are
upgraded to the current shape at load, in memory, by `auditor/record/migrate.py`.
Adding an optional field is a minor version bump; anything else is a major one.
"""

from typing import Annotated, Any, Literal, get_args

from pydantic import AwareDatetime, Field, ValidationInfo, model_validator

from auditor.record.base import Frozen, Missing

__all__ = ["Frozen", "Missing"]  # re-exported: most readers import every model from here
from auditor.record.code import Code
from auditor.record.fairness import Fairness
from auditor.record.governance import Governance
from auditor.record.lineage import Lineage
from auditor.record.model_card import ModelCard

# The one list; migrate.py has a step from each older one.
SchemaVersion = Literal["1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7"]
SCHEMA_VERSION: SchemaVersion = "1.7"
# 1.1 added lineage, fairness, params and metrics (migrate.py says what older records read with).
# 1.2 added `container` (absent for local runs).
# 1.3 added the container's configuration and system packages, `reproduction`, `tags`,
# ingested runs (source reported by another tool, identity hints instead of hashes,
# annotations and columns on lineage entries) and let ingested runs leave exit code,
# user, host and logs unrecorded.
# 1.4 (the dossier issue) adds optional evidence sections:
# - `governance`: auditor.yaml's governance section as declared at capture (Annex IV).
# - `lineage.datasets[].profile`: rows, columns, missing values, label balance per sensitive group
#   and associations of a declared tabular dataset (record/profile.py); None for other data.
# - fairness: per group base_rate, precision, false_negative_rate and bootstrap `intervals`; per attribute
#   `reference`, `reference_basis`, `reference_note` and `comparisons` (signed, to the reference group);
#   `bootstrap.method`. Older records read with them None (no intervals per group, no comparisons).
# - `model_card` (record/model_card.py): declared model facts, what a restricted unpickler read from
#   the model files, params and metrics files, and performance computed from the predictions file.
# 1.5 (ingest fidelity) adds:
# - status "unfinished" (an ingested run its tool never saw end: MLflow RUNNING, an OpenLineage run
#   without a terminal event), whose `ended_at`, `duration_s` and `exit_code` are None.
# - `identity.time_basis` and `identity.time_note`: where the run's times come from (None in older
#   records: observed for executed runs, recorded by the tool for ingested ones).
# - `links.reingests`: an earlier ingest of the same source run that this record re-reads.
# - `lineage.datasets[].assertions`: data-quality assertions the source tool recorded.
# - `lineage.unmatched`: auditor.yaml entries that matched nothing an ingested run used.
# 1.6 (the portfolio) adds `code`: the code files a run executed, hashed and fingerprinted
# (record/code.py); None in older records ("not recorded"), `Missing` when it could not be captured.
# 1.7 (re-capture speed) adds `same_files_as` on a dataset's `after` hash: "before" when its files are
# exactly the before list's, which then stands for both (the after list is written empty, read back as
# the before list). Older records wrote both lists and read as they were written.
SUPPORTED_SCHEMA_VERSIONS: frozenset[str] = frozenset(get_args(SchemaVersion))
RECORD_KIND = "auditor.run-record"


# --- identity -------------------------------------------------------------

RunStatus = Literal["succeeded", "failed", "interrupted", "unfinished"]
# Where a run's times come from: auditor watched the command (observed); the source tool recorded
# them (recorded); the git commit that last changed the tool's record of the run (git_commit, DVC's
# dvc.lock); only a file's modification time (file_mtime): then no renderer shows them as the run's.
TimeBasis = Literal["observed", "recorded", "git_commit", "file_mtime"]


class Identity(Frozen):
    run_id: str = Field(description="ULID: unique and sortable by start time")
    project: str
    name: str | None = Field(None, description="Human label given with --name")
    argv: tuple[str, ...] = Field(description="The command as run, secrets masked")
    cwd: str
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = Field(description="None only for an unfinished ingested run")
    duration_s: float | None = Field(ge=0, description="None only for an unfinished ingested run")
    exit_code: int | None = Field(
        description="The command's exit code; 128+N when killed by signal N; None when an ingested run's "
        "source tool did not record it"
    )
    signal: str | None = Field(None, description="Name of the signal that ended the command")
    status: RunStatus
    error: str | None = Field(None, description="Why the command could not run, if it could not")
    user: str | None = Field(description="None when the source tool of an ingested run did not record it")
    host: str | None = Field(description="None when the source tool of an ingested run did not record it")
    auditor_version: str = Field(description="The auditor that executed or ingested the run")
    time_basis: TimeBasis | None = Field(
        None, description="Where started_at and ended_at come from; None in records before 1.5"
    )
    time_note: str | None = Field(
        None, description="The evidence for the times, e.g. the dvc.lock commit, or why only file times exist"
    )

    @model_validator(mode="after")
    def _unfinished_has_no_end(self) -> "Identity":
        if (self.status == "unfinished") != (self.ended_at is None) or (self.ended_at is None) != (
            self.duration_s is None
        ):
            raise ValueError("ended_at and duration_s are None exactly when the status is unfinished")
        return self


class Origin(Frozen):
    """How this record came to be: executed under auditor, or ingested from another tool."""

    kind: Literal["executed", "ingested"]
    executor: str | None = Field(None, description="'local' or 'container' for executed runs")
    tool: str | None = Field(None, description="The tool an ingested run came from")
    tool_version: str | None = None
    source_uri: str | None = None
    source_run_id: str | None = None
    not_captured: tuple[str, ...] = Field(
        (), description="Record sections the source tool of an ingested run does not capture"
    )


class Links(Frozen):
    reproduces: str | None = Field(None, description="Run id of the run this one re-executes")
    reingests: str | None = Field(
        None, description="Run id of an earlier ingest of the same source run that this record reads again"
    )


# --- source ---------------------------------------------------------------


class GitSource(Frozen):
    state: Literal["captured"] = "captured"
    root: str
    commit: str | None = Field(description="None in a repository with no commits yet")
    branch: str | None = Field(description="None when HEAD is detached")
    dirty: bool
    diff_sha256: str | None = Field(description="SHA-256 of `git diff HEAD --binary` when dirty")
    untracked: tuple[str, ...] = Field(description="Untracked, not ignored paths (first 200)")
    untracked_count: int
    remote_url: str | None = Field(description="Remote URL with credentials removed")


class NotARepository(Frozen):
    state: Literal["not_a_repository"] = "not_a_repository"
    path: str


class ReportedSource(Frozen):
    """Where the code came from, as another tool reported it: not verified by auditor."""

    state: Literal["reported"] = "reported"
    tool: str
    repo_url: str | None = Field(None, description="Credentials removed")
    commit: str | None = None
    branch: str | None = None
    path: str | None = Field(None, description="The entry point or source file the tool named")


Source = Annotated[GitSource | NotARepository | ReportedSource | Missing, Field(discriminator="state")]


# --- environment -----------------------------------------------------------


class OsInfo(Frozen):
    state: Literal["captured"] = "captured"
    system: str
    distribution_id: str | None
    distribution_version: str | None
    pretty_name: str | None
    kernel: str
    architecture: str
    libc: str | None


class PythonInfo(Frozen):
    state: Literal["captured"] = "captured"
    version: str
    implementation: str
    executable: str
    prefix: str
    base_prefix: str
    is_virtualenv: bool
    resolved_from: Literal["argv", "shebang", "path"] = Field(
        description="How auditor found the interpreter that runs the command"
    )
    sys_path: tuple[str, ...]


InstallKind = Literal["index", "editable", "vcs", "local", "url", "unknown"]


class Distribution(Frozen):
    name: str
    version: str
    installer: str | None
    requested: bool | None = Field(description="None when the installer left no REQUESTED marker")
    install_kind: InstallKind
    url: str | None = Field(None, description="From direct_url.json, credentials removed")
    vcs: str | None = None
    commit_id: str | None = None
    requested_revision: str | None = None
    location: str
    shadowed: bool = Field(False, description="True when an earlier sys.path entry has the same name")


class Packages(Frozen):
    state: Literal["captured"] = "captured"
    distributions: tuple[Distribution, ...]


class LocaleInfo(Frozen):
    state: Literal["captured"] = "captured"
    locale: str | None
    preferred_encoding: str
    filesystem_encoding: str


class TimezoneInfo(Frozen):
    state: Literal["captured"] = "captured"
    name: str | None
    utc_offset: str


Disposition = Literal["kept", "masked", "fingerprinted"]


class EnvVar(Frozen):
    name: str
    disposition: Disposition = Field(
        description="kept: allow-listed value; masked: allow-listed but secrets masked "
        "inside it; fingerprinted: value replaced by a salted HMAC"
    )
    value: str | None = Field(None, description="Only for kept and masked variables")
    fingerprint: str | None = Field(None, description="Only for fingerprinted variables")


class Pin(Frozen):
    """One requirement line of a declared requirements file."""

    name: str
    specifier: str = Field(description="As written, e.g. '==2.3.3' or '>=1,<2' ('' for URLs)")
    version: str | None = Field(description="The version when the line pins exactly one (== or ===)")
    hashes: tuple[str, ...] = Field(description="--hash values, e.g. 'sha256:...'")
    marker: str | None = None
    url: str | None = Field(None, description="Direct reference or editable path/URL, credentials removed")
    editable: bool = False
    line: int


class RequirementsFile(Frozen):
    path: str
    sha256: str | None = Field(description="None when the file could not be read")
    pins: tuple[Pin, ...]
    problems: tuple[str, ...] = Field(description="Lines auditor could not read, named")


class DeclaredRequirements(Frozen):
    state: Literal["captured"] = "captured"
    files: tuple[RequirementsFile, ...]


class Environment(Frozen):
    os: Annotated[OsInfo | Missing, Field(discriminator="state")]
    python: Annotated[PythonInfo | Missing, Field(discriminator="state")]
    packages: Annotated[Packages | Missing, Field(discriminator="state")]
    locale: Annotated[LocaleInfo | Missing, Field(discriminator="state")]
    timezone: Annotated[TimezoneInfo | Missing, Field(discriminator="state")]
    variables: tuple[EnvVar, ...]
    declared: Annotated[DeclaredRequirements | Missing, Field(discriminator="state")] | None = Field(
        None, description="The requirements the project declares (absent in 1.0 records)"
    )


# --- hardware --------------------------------------------------------------


class CpuInfo(Frozen):
    state: Literal["captured"] = "captured"
    model: str | None
    architecture: str
    physical_cores: int | None
    logical_cores: int


class MemoryInfo(Frozen):
    state: Literal["captured"] = "captured"
    total_bytes: int


class Gpu(Frozen):
    index: int
    name: str
    uuid: str
    memory_total_bytes: int
    pci_bus_id: str | None
    compute_capability: str | None
    serial: str | None = None
    vbios: str | None = None
    power_limit_w: float | None = None


class Gpus(Frozen):
    state: Literal["captured"] = "captured"
    source: Literal["nvml"]
    driver_version: str
    cuda_driver_version: str | None
    nvml_version: str | None
    devices: tuple[Gpu, ...]


class NoGpu(Frozen):
    state: Literal["none_detected"] = "none_detected"
    reason: str


class Hardware(Frozen):
    cpu: Annotated[CpuInfo | Missing, Field(discriminator="state")]
    memory: Annotated[MemoryInfo | Missing, Field(discriminator="state")]
    gpus: Annotated[Gpus | NoGpu | Missing, Field(discriminator="state")]


class Resources(Frozen):
    """What the command itself used, from the kernel's accounting of its process tree."""

    wall_s: float | None = Field(description="None only for an unfinished ingested run")
    user_cpu_s: float | None
    system_cpu_s: float | None
    peak_rss_bytes: int | None = Field(description="Largest resident set of any single process in the command's tree")


# --- outputs ---------------------------------------------------------------


class LogFile(Frozen):
    path: str = Field(description="Relative to the run's folder in the store")
    bytes: int
    sha256: str = Field(description="Of the stored (redacted) file")
    redactions: int = Field(description="How many secrets were masked on the way to the file")


class Outputs(Frozen):
    stdout: LogFile | None = Field(description="None when an ingested run's source tool kept no log")
    stderr: LogFile | None
    notes: tuple[str, ...] = Field((), description="Why a log may be incomplete")


# --- the record --------------------------------------------------------------


ParamValue = str | int | float | bool | None


class Metric(Frozen):
    name: str
    value: float
    step: int | None = None
    logged_at: AwareDatetime


class Mount(Frozen):
    source: str = Field(description="Host path")
    target: str = Field(description="Path inside the container")
    read_only: bool


class ContainerConfig(Frozen):
    """How auditor configured the container: what the command could see, reach and use."""

    workdir: str
    user: str | None = Field(description="uid:gid the command ran as; None for the image's default")
    network: str = Field(description="'none' unless a network was asked for")
    cpus: float | None = Field(description="CPU limit; None for no limit")
    memory_bytes: int | None = Field(description="Memory limit; None for no limit")
    gpus: str | None = Field(description="GPUs requested, e.g. 'all'; None for none")
    timeout_s: float | None
    entrypoint: tuple[str, ...] = Field((), description="The image's ENTRYPOINT, which ran the command as arguments")
    mounts: tuple[Mount, ...]
    variables: tuple[EnvVar, ...] = Field(description="Variables given to the container, redacted like local runs")


class SystemPackage(Frozen):
    name: str
    version: str
    architecture: str | None = None


class SystemPackages(Frozen):
    state: Literal["captured"] = "captured"
    manager: Literal["dpkg", "apk", "rpm"]
    packages: tuple[SystemPackage, ...]


class Container(Frozen):
    """The image a containerised run executed in, as the engine reported it."""

    image_ref: str = Field(description="The image reference as given, e.g. 'python:3.11' or 'repo@sha256:...'")
    image_id: str | None = Field(None, description="The engine's id of the image (sha256 of its config)")
    repo_digests: tuple[str, ...] = Field((), description="'repo@sha256:...' digests the engine knows for it")
    engine: str | None = Field(None, description="Container engine name, e.g. 'Podman Engine'")
    engine_version: str | None = None
    platform: str | None = Field(None, description="The image's os/architecture")
    config: ContainerConfig | None = Field(None, description="Absent in 1.2 records")
    system_packages: Annotated[SystemPackages | Missing, Field(discriminator="state")] | None = Field(
        None, description="The image's OS packages (dpkg, apk or rpm); absent in 1.2 records"
    )


class ToleranceSetting(Frozen):
    rel: float = Field(ge=0)
    abs: float = Field(ge=0)


class ReproDifference(Frozen):
    kind: Literal["output", "metric", "run"]
    name: str = Field(description="'dataset:ID', 'model:ID', a metric name, or 'outcome' for the run's exit")
    original: str
    reproduced: str
    within_tolerance: bool


class Reproduction(Frozen):
    """The verdict of `auditor reproduce`, kept in the reproducing run's record."""

    original_run_id: str
    verdict: Literal["identical", "equivalent", "diverged"]
    differences: tuple[ReproDifference, ...]
    tolerances: dict[str, ToleranceSetting] = Field(description="Per metric name; '*' for every other metric")
    inputs_checked: tuple[str, ...] = Field(description="Declared inputs whose recorded hash was verified first")
    environment_check: str = Field(description="How the environment was shown to be the original's")


class RunRecord(Frozen):
    """One run, complete: written once, never modified."""

    schema_version: SchemaVersion = Field(
        SCHEMA_VERSION, description="The version the record was written in, kept when an older one is upgraded at load"
    )
    kind: Literal["auditor.run-record"] = "auditor.run-record"
    identity: Identity
    origin: Origin
    links: Links = Links()
    source: Source
    environment: Environment
    hardware: Hardware
    resources: Resources
    outputs: Outputs
    lineage: Annotated[Lineage | Missing, Field(discriminator="state")] | None = Field(
        None, description="Absent only in 1.0 records"
    )
    fairness: Annotated[Fairness | Missing, Field(discriminator="state")] | None = Field(
        None, description="Absent only in 1.0 records"
    )
    container: Container | None = Field(None, description="The container image; absent for local runs")
    params: dict[str, ParamValue] = Field(default_factory=dict, description="From auditor.log_params")
    metrics: tuple[Metric, ...] = Field((), description="From auditor.log_metric, in logging order")
    tags: dict[str, str] = Field(
        default_factory=dict, description="Tags the run set (auditor.set_tag) or an ingested run's source tool recorded"
    )
    reproduction: Reproduction | None = Field(None, description="Set when this run re-executed another one")
    governance: Annotated[Governance | Missing, Field(discriminator="state")] | None = Field(
        None,
        description="auditor.yaml's governance section as declared at capture; absent before 1.4 and for ingested runs",
    )
    model_card: Annotated[ModelCard | Missing, Field(discriminator="state")] | None = Field(
        None, description="The model card's evidence (1.4); None only in records built in code before it"
    )
    code: Annotated[Code | Missing, Field(discriminator="state")] | None = Field(
        None, description="The code files the run executed, hashed and fingerprinted (1.6); None before 1.6"
    )

    @model_validator(mode="before")
    @classmethod
    def _stored_records_name_their_version(cls, data: Any, info: ValidationInfo) -> Any:
        """A record read from JSON must say what it is; the defaults are for records built in code."""
        if info.mode == "json" and isinstance(data, dict) and not {"kind", "schema_version"} <= data.keys():
            raise ValueError("a stored record must have 'kind' and 'schema_version'")
        return data
