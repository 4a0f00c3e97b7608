"""Before re-running: the original must be re-executable, its inputs unchanged, its environment
the same. Each failed precondition is exit 3 with the reason, and nothing runs.

- Inputs: every declared input is re-hashed and must match the hash recorded before the
  original run ("inputs changed" otherwise, listing them).
- Container runs: the exact image, found by the recorded image id (or a recorded digest);
  never a tag that may now name something else. The recorded configuration (mounts, network,
  limits, user) is reused; variables whose values were not kept must be supplied again in
  the environment, and are checked against the recorded fingerprints.
- Local runs: the same interpreter version and the same distributions at the same versions,
  probed again now in the current environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.capture.collect.python_env import collect_python
from auditor.capture.execute.container_plan import parse_network
from auditor.capture.execute.interface import Executor
from auditor.capture.execute.local import LocalExecutor
from auditor.capture.hashing import hash_path
from auditor.capture.redact import RedactionPolicy
from auditor.capture.request import CaptureRequest
from auditor.errors import CouldNotEvaluateError, UsageError
from auditor.record.lineage import Hash
from auditor.record.models import Container, Mount, Packages, PythonInfo, RunRecord
from auditor.render.reproduction import short_value
from auditor.reproduce.code import check_code
from auditor.reproduce.compare import inputs_changed, parse_tolerances
from auditor.reproduce.plan import ReproductionPlan
from auditor.store.runs import RunStore

if TYPE_CHECKING:
    from docker import DockerClient

    from auditor.capture.execute.container_plan import ContainerPlan
    from auditor.capture.execute.engine import EngineInfo


MASK_MARK = "[REDACTED:"  # what redaction leaves in place of a secret


class InputsChangedError(CouldNotEvaluateError):
    def __init__(self, changed: Sequence[tuple[str, str, str]]) -> None:
        listed = "; ".join(f"{name}: recorded {short_value(was)}, now {short_value(now)}" for name, was, now in changed)
        super().__init__(f"verdict: inputs changed, so the run was not repeated ({listed})")
        self.changed = tuple(changed)


def prepare(
    store: RunStore,
    original: RunRecord,
    tolerance_specs: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    network: str = "none",
) -> CaptureRequest:
    """The request that re-runs `original`; `network` as given to `reproduce --network` (none or bridge)."""
    allow_network = parse_network("--network", network) == "bridge"
    if original.origin.kind != "executed":
        raise UsageError(
            f"run {original.identity.run_id} was ingested from {original.origin.tool}: "
            "only runs auditor executed can be repeated"
        )
    tolerances = parse_tolerances(tolerance_specs)
    root = Path(original.identity.cwd)
    if not root.is_dir():
        raise CouldNotEvaluateError(f"the original run's folder {root} no longer exists")
    if os.path.realpath(root) != os.path.realpath(cwd):
        # The record names the folder the command runs (and writes) in: it is untrusted input,
        # so the user confirms it by running reproduce from there.
        raise UsageError(f"run `auditor reproduce` from the original run's project folder, {root}")
    if any(MASK_MARK in arg for arg in original.identity.argv):
        raise CouldNotEvaluateError("the recorded command had secrets masked in it, so it cannot be repeated exactly")
    _check_comparable(original)
    code = check_code(original, root)
    checked = _check_inputs(original, root)
    executor: Executor
    if original.container is not None:
        from auditor.capture.execute.container import ContainerExecutor
        from auditor.capture.execute.engine import connect

        client, engine = connect()
        plan = _container_plan(store, original, original.container, root, client, engine, allow_network)
        executor, run_env = ContainerExecutor(plan), _container_env(store, original.container, env)
        environment = f"the recorded image {plan.image.id}; {code}"
    else:
        executor, run_env = LocalExecutor(), dict(env)
        environment = _check_local_environment(original, run_env, root) + f"; {code}"
    return CaptureRequest(
        argv=original.identity.argv,
        cwd=root,
        env=run_env,
        executor=executor,
        name=f"reproduce {original.identity.run_id}",
        project=original.identity.project,
        reproduces=ReproductionPlan(original, tolerances, checked, environment),
    )


def _check_comparable(original: RunRecord) -> None:
    """A run with no declared outputs, models or metrics would be "identical" by comparing nothing."""
    lineage = original.lineage
    products = [d for d in getattr(lineage, "datasets", ()) if d.role != "input" and d.path]
    products += list(getattr(lineage, "models", ()))
    if not products and not original.metrics:
        raise CouldNotEvaluateError(
            "the original run declared no outputs or models (auditor.yaml) and logged no metrics: "
            "there is nothing to compare, so it is not repeated"
        )


def _check_inputs(original: RunRecord, root: Path) -> tuple[str, ...]:
    now = datetime.now(UTC)

    def rehash(path: str) -> Hash | None:
        return hash_path(root / path, display_root=root, cache=None, now=now)

    changed = inputs_changed(original, rehash)
    if changed:
        raise InputsChangedError(changed)
    lineage = original.lineage
    return tuple(d.id for d in getattr(lineage, "datasets", ()) if d.role == "input" and d.path)


def _container_plan(
    store: RunStore,
    original: RunRecord,
    recorded: Container,
    root: Path,
    client: DockerClient,
    engine: EngineInfo,
    allow_network: bool,
) -> ContainerPlan:
    from auditor.capture.execute.container_plan import ContainerPlan, ContainerSettings
    from auditor.capture.execute.engine import EngineError, resolve_image

    image = None
    for ref in (recorded.image_id, *recorded.repo_digests):
        if not ref:
            continue
        try:
            image = resolve_image(client, ref)
            break
        except EngineError:
            continue
    if image is None or (recorded.image_id and image.id != recorded.image_id):
        raise CouldNotEvaluateError(
            f"the exact image of run {original.identity.run_id} ({recorded.image_id or recorded.image_ref}) is not "
            "available in the container engine; load that image (by id or digest) and try again"
        )
    config = recorded.config
    if config is None:
        raise CouldNotEvaluateError(
            f"run {original.identity.run_id} did not record its container configuration (schema 1.2)"
        )
    image = dataclasses.replace(image, ref=recorded.image_ref)  # the reference as the original gave it
    if config.network != "none" and not allow_network:
        raise UsageError(
            f"the original run had network access ({config.network}); pass --network bridge to allow it again"
        )
    settings = ContainerSettings(
        image=recorded.image_ref,
        network="bridge" if config.network == "bridge" else "none",
        cpus=config.cpus,
        memory_bytes=config.memory_bytes,
        gpus=config.gpus,
        timeout_s=config.timeout_s,
        outputs=_writable(config.mounts, root),
        user=f"{os.getuid()}:{os.getgid()}",  # yours, as for `auditor run`: not whatever the record says
    )
    return ContainerPlan(
        client=client, engine=engine, image=image, settings=settings, project=root, hidden=_hidden(store, root)
    )


def _writable(mounts: Sequence[Mount], root: Path) -> tuple[Path, ...]:
    """The recorded writable folders, which must lie inside the project: a record is untrusted
    input, and one edited to mount / writable must not get a container write access to it."""
    out = []
    for mount in mounts:
        if mount.read_only:
            continue
        folder = Path(os.path.realpath(mount.source))
        if folder == Path(os.path.realpath(root)) or Path(os.path.realpath(root)) not in folder.parents:
            raise UsageError(f"the record's writable mount {mount.source} is not a folder inside {root}: not repeated")
        folder.mkdir(parents=True, exist_ok=True)
        out.append(folder)
    return tuple(out)


def _hidden(store: RunStore, root: Path) -> tuple[Path, ...]:
    from auditor.capture.execute.container_setup import hidden_store

    return hidden_store(store.root, root)


def _container_env(store: RunStore, recorded: Container, env: Mapping[str, str]) -> dict[str, str]:
    """The recorded variables: kept values as recorded, others from the environment, verified."""
    policy = RedactionPolicy(salt=store.salt())
    out: dict[str, str] = {}
    missing = []
    for var in recorded.config.variables if recorded.config else ():
        if var.disposition == "kept" and var.value is not None and MASK_MARK not in var.value:
            out[var.name] = var.value
        elif var.name in env and (var.fingerprint is None or policy.fingerprint(env[var.name]) == var.fingerprint):
            out[var.name] = env[var.name]
        else:
            missing.append(var.name)
    if missing:
        raise CouldNotEvaluateError(
            "set these variables to the values the original run had (their values were not recorded, "
            f"only fingerprints): {', '.join(missing)}"
        )
    return out


def _check_local_environment(original: RunRecord, env: Mapping[str, str], root: Path) -> str:
    recorded_py, recorded_pkgs = original.environment.python, original.environment.packages
    if not isinstance(recorded_py, PythonInfo) or not isinstance(recorded_pkgs, Packages):
        raise CouldNotEvaluateError("the original run recorded no Python environment to compare with")
    now = collect_python(original.identity.argv, env, str(root))
    if not isinstance(now.python, PythonInfo) or not isinstance(now.packages, Packages):
        raise CouldNotEvaluateError("the current Python environment could not be probed")
    problems = []
    if now.python.version != recorded_py.version or now.python.executable != recorded_py.executable:
        problems.append(
            f"Python {recorded_py.version} at {recorded_py.executable} "
            f"is now {now.python.version} at {now.python.executable}"
        )
    was = {(d.name.lower(), d.version) for d in recorded_pkgs.distributions}
    current = {(d.name.lower(), d.version) for d in now.packages.distributions}
    for name, version in sorted(was - current)[:10]:
        problems.append(f"{name} {version} is not installed at that version")
    for name, version in sorted(current - was)[:10]:
        problems.append(f"{name} {version} was not in the original environment")
    if problems:
        raise CouldNotEvaluateError("the environment differs from the original run's: " + "; ".join(problems))
    return f"the same interpreter (Python {recorded_py.version}) and {len(was)} distributions at the recorded versions"
