"""What a container run is to be: the image, the user's settings, and the mounts they imply.

Shared by the command's container and the environment probe's, so both see the same image,
the same project (read-only, at its own path) and the same hidden run store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from auditor.capture.execute.engine import EngineInfo, ImageInfo
from auditor.errors import UsageError
from auditor.record.models import Container, ContainerConfig, EnvVar, Missing, Mount, SystemPackages

if TYPE_CHECKING:
    import docker

GPU_SYNTAX = "all, a count such as 2, or device=0,1 (as `docker run --gpus`)"
EMPTY_FOLDER = ".empty"  # inside the run store: what a containerised command sees in its place


def gpu_request(text: str) -> tuple[int, tuple[str, ...]]:
    """`--gpus` as Docker reads it: (count, device ids); count -1 is every GPU."""
    value = text.strip()
    if value == "all":
        return -1, ()
    if value.isdigit() and int(value) > 0:
        return int(value), ()
    if value.startswith("device="):
        ids = tuple(p.strip() for p in value.removeprefix("device=").split(","))
        if ids and all(p and (p.isdigit() or p.startswith("GPU-")) for p in ids):
            return 0, ids
    raise ValueError(f"--gpus {text!r}: expected {GPU_SYNTAX}")


Network = Literal["none", "bridge"]
NETWORKS: tuple[Network, ...] = get_args(Network)  # off unless asked; the order of --help


def parse_network(option: str, value: str) -> Network:
    for network in NETWORKS:
        if value == network:
            return network
    raise UsageError(f"{option} {value!r}: expected {' or '.join(NETWORKS)}")


@dataclass(frozen=True)
class ContainerSettings:
    """What the user asked for on the command line."""

    image: str
    network: Network = "none"
    cpus: float | None = None
    memory_bytes: int | None = None
    gpus: str | None = None
    timeout_s: float | None = None
    outputs: tuple[Path, ...] = ()
    user: str | None = None


@dataclass(frozen=True)
class ContainerPlan:
    client: docker.DockerClient
    engine: EngineInfo
    image: ImageInfo
    settings: ContainerSettings
    project: Path
    hidden: tuple[Path, ...] = ()  # folders inside the project the command must not see (the run store)

    def mounts(self) -> tuple[Mount, ...]:
        project = Mount(source=str(self.project), target=str(self.project), read_only=True)
        outputs = (Mount(source=str(p), target=str(p), read_only=False) for p in self.settings.outputs)
        return (project, *outputs)

    def config(self, variables: tuple[EnvVar, ...]) -> ContainerConfig:
        s = self.settings
        return ContainerConfig(
            workdir=str(self.project),
            user=s.user,
            network=s.network,
            cpus=s.cpus,
            memory_bytes=s.memory_bytes,
            gpus=s.gpus,
            timeout_s=s.timeout_s,
            entrypoint=self.image.entrypoint,
            mounts=self.mounts(),
            variables=variables,
        )

    def section(self, variables: tuple[EnvVar, ...], packages: SystemPackages | Missing) -> Container:
        return Container(
            image_ref=self.image.ref,
            image_id=self.image.id,
            repo_digests=self.image.repo_digests,
            engine=self.engine.name,
            engine_version=self.engine.version,
            platform=self.image.platform,
            config=self.config(variables),
            system_packages=packages,
        )

    def create_kwargs(self, argv: list[str], cwd: str, env: Mapping[str, str]) -> dict[str, Any]:
        """Arguments for `containers.create`, shared by the command and the environment probe."""
        from docker.types import DeviceRequest
        from docker.types import Mount as DockerMount

        s = self.settings
        kwargs: dict[str, Any] = {
            "image": self.image.id,  # the id resolved before the run: a re-tag mid-run cannot swap it
            "command": argv,
            "working_dir": cwd,
            "environment": dict(env),
            "network_mode": s.network,
            "mounts": [DockerMount(m.target, m.source, type="bind", read_only=m.read_only) for m in self.mounts()],
            "labels": {"org.auditor.managed": "true"},
            # A tiny init as PID 1 forwards SIGTERM to the command and reaps its children: without
            # it a command that sets no handler ignores the stop signal, as every PID 1 does.
            "init": True,
            "detach": True,
        }
        for path in self.hidden:  # an empty folder of the store, mounted over the store itself
            empty = path / EMPTY_FOLDER
            empty.mkdir(parents=True, exist_ok=True)
            kwargs["mounts"].append(DockerMount(str(path), str(empty), type="bind", read_only=True))
        if s.user:
            kwargs["user"] = s.user
        if s.cpus:
            kwargs["nano_cpus"] = int(s.cpus * 1e9)
        if s.memory_bytes:
            kwargs["mem_limit"] = s.memory_bytes
        if s.gpus:
            count, ids = gpu_request(s.gpus)
            kwargs["device_requests"] = [DeviceRequest(count=count, device_ids=list(ids), capabilities=[["gpu"]])]
        return kwargs
