"""From `auditor run --image ...` options to a checked container plan, before anything runs.

Checked up front, each with one line and nothing recorded, because no run happened: the
engine is reachable and the image exists (exit 3), the options make sense and every output
folder is writable (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import UsageError

if TYPE_CHECKING:  # imported where used: a local `auditor run` loads this module for ContainerOptions only
    from auditor.capture.execute.container_plan import ContainerPlan
    from auditor.capture.request import CaptureRequest

DEFAULT_OUTPUT = "outputs"


@dataclass(frozen=True)
class ContainerOptions:
    """`auditor run --image` as given, unchecked."""

    image: str
    network: str = "none"
    cpus: float | None = None
    memory: str | None = None
    gpus: str | None = None
    timeout_s: float | None = None
    outputs: Sequence[str] = ()
    env: Sequence[str] = ()  # --env NAME=VALUE or NAME
    user: str | None = None

    def refuse_without_image(self) -> None:
        """Container options given to a local run are a usage error, never silently ignored."""
        given = [
            flag
            for flag, value in (
                ("--cpus", self.cpus),
                ("--memory", self.memory),
                ("--gpus", self.gpus),
                ("--timeout", self.timeout_s),
                ("--output", self.outputs),
                ("--env", self.env),
                ("--user", self.user),
            )
            if value
        ]
        if given or self.network != "none":
            raise UsageError(f"{', '.join(given) or '--network'}: only for container runs (--image)")


def container_request(
    argv: Sequence[str],
    options: ContainerOptions,
    *,
    cwd: Path,
    store_root: Path,
    host_env: Mapping[str, str],
    name: str | None = None,
    project: str | None = None,
) -> CaptureRequest:
    """The capture request for a command in a container: its variables, a checked plan, its executor.

    The command sees only the variables given with --env; PYTHONPATH, unless given, is the
    image's own, so auditor's start-up hook (which goes first on it) does not hide the image's."""
    from auditor.capture.execute.container import ContainerExecutor
    from auditor.capture.request import CaptureRequest

    env = container_env(options.env, host_env)
    plan = plan_container(
        image=options.image,
        network=options.network,
        cpus=options.cpus,
        memory=options.memory,
        gpus=options.gpus,
        timeout_s=options.timeout_s,
        outputs=options.outputs,
        user=options.user,
        cwd=cwd,
        store_root=store_root,
    )
    image_path = [e.split("=", 1)[1] for e in plan.image.env if e.startswith("PYTHONPATH=")]
    if image_path and "PYTHONPATH" not in env:
        env["PYTHONPATH"] = image_path[0]
    return CaptureRequest(argv=argv, cwd=cwd, env=env, executor=ContainerExecutor(plan), name=name, project=project)


def plan_container(
    *,
    image: str,
    network: str,
    cpus: float | None,
    memory: str | None,
    gpus: str | None,
    timeout_s: float | None,
    outputs: Sequence[str],
    user: str | None,
    cwd: Path,
    store_root: Path,
) -> ContainerPlan:
    from auditor.capture.execute.container_plan import ContainerPlan, ContainerSettings, gpu_request, parse_network
    from auditor.capture.execute.engine import connect, parse_memory, resolve_image

    chosen_network = parse_network("--network", network)
    if cpus is not None and not cpus > 0:
        raise UsageError(f"--cpus {cpus}: expected a positive number")
    if timeout_s is not None and not timeout_s > 0:
        raise UsageError(f"--timeout {timeout_s}: expected a positive number of seconds")
    if gpus is not None:
        try:
            gpu_request(gpus)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    memory_bytes = parse_memory(memory) if memory else None
    client, engine = connect()  # before any folder is created: an exit 3 leaves nothing behind
    resolved = resolve_image(client, image)
    settings = ContainerSettings(
        image=image,
        network=chosen_network,
        cpus=cpus,
        memory_bytes=memory_bytes,
        gpus=gpus.strip() if gpus else None,
        timeout_s=timeout_s,
        outputs=_output_folders(outputs, cwd, store_root),
        user=user if user is not None else f"{os.getuid()}:{os.getgid()}",
    )
    return ContainerPlan(
        client=client,
        engine=engine,
        image=resolved,
        settings=settings,
        project=cwd,
        hidden=hidden_store(store_root, cwd),
    )


def _output_folders(given: Sequence[str], cwd: Path, store_root: Path) -> tuple[Path, ...]:
    """The writable folders: as given, else the folders of the outputs auditor.yaml declares.

    Each lies inside the project (what `reproduce` will accept again) and none holds the run
    store (the command could read the salt and delete other runs' records)."""
    names = list(given) or _declared_output_folders(cwd) or [DEFAULT_OUTPUT]
    project, store = Path(os.path.realpath(cwd)), Path(os.path.realpath(store_root))
    out = []
    for name in names:
        folder = Path(os.path.realpath(cwd / name))
        if project not in folder.parents:
            raise UsageError(f"--output {name}: {folder} is not a folder inside the project {project}")
        if folder == store or folder in store.parents:
            raise UsageError(f"--output {name}: {folder} holds the run store {store}; name a folder beside it")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--output {name}: cannot create the folder: {exc.strerror or exc}") from exc
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"--output {name}: {folder} is not a writable folder")
        if folder == Path(os.path.realpath(cwd)):
            raise UsageError(f"--output {name}: the project folder itself stays read-only; name a folder inside it")
        out.append(folder)
    # A folder inside another writable one is already writable: mount only the outermost.
    return tuple(f for f in dict.fromkeys(out) if not any(o != f and o in f.parents for o in out))


def _declared_output_folders(cwd: Path) -> list[str]:
    from auditor.project.spec import find_spec, load_spec

    spec_file = find_spec(cwd)
    if spec_file is None:
        return []
    spec = load_spec(spec_file)
    paths = [d.path for d in spec.datasets if d.role != "input" and d.path] + [m.path for m in spec.models]
    at_root = sorted(p for p in paths if str(Path(p).parent) in ("", "."))
    if at_root:
        raise UsageError(
            f"{spec_file}: outputs at the project root ({', '.join(at_root)}) cannot be written in a container, "
            "where the project is read-only; move them into a folder, or name writable folders with --output"
        )
    return sorted({str(Path(p).parent) for p in paths})


def hidden_store(store_root: Path, cwd: Path) -> tuple[Path, ...]:
    """The run store, when it lies inside the project: the command must not read other runs' records."""
    store = Path(os.path.realpath(store_root))
    try:
        store.relative_to(os.path.realpath(cwd))
    except ValueError:
        return ()
    return (store,)


def container_env(pairs: Sequence[str], host: Mapping[str, str]) -> dict[str, str]:
    """`--env NAME=VALUE` sets a variable; `--env NAME` passes the host's value, as `docker run -e` does."""
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not name or "\0" in pair:
            raise UsageError(f"--env {pair!r}: expected NAME=VALUE or NAME")
        if not sep:
            if name not in host:
                raise UsageError(f"--env {name}: not set in this environment")
            value = host[name]
        env[name] = value
    return env
