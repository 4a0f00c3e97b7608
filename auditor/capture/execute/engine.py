"""The container engine: found from DOCKER_HOST / the environment, as the Docker CLI finds it.

Any engine that serves the Docker Engine API works (Docker, or podman's `system service`).
Failures here happen before anything runs, so they are one line and exit 3: auditor could not
do what was asked, and says how to get an engine, never silently running somewhere else.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.errors import CouldNotEvaluateError, UsageError
from auditor.extras import need

if TYPE_CHECKING:
    import docker

START_HINT = (
    "start one (e.g. `podman system service --time=0 unix:///tmp/podman.sock &` and "
    "`export DOCKER_HOST=unix:///tmp/podman.sock`, or start Docker)"
)
CONNECT_TIMEOUT_S = 10
API_VERSION = "1.41"


class EngineError(CouldNotEvaluateError):
    """No engine, or not the image asked for: exit 3, nothing ran."""


@dataclass(frozen=True)
class EngineInfo:
    name: str
    version: str | None


@dataclass(frozen=True)
class ImageInfo:
    ref: str
    id: str
    repo_digests: tuple[str, ...]
    platform: str | None
    entrypoint: tuple[str, ...] = ()
    env: tuple[str, ...] = ()  # the image's ENV, NAME=VALUE


def connect() -> tuple[docker.DockerClient, EngineInfo]:
    """A client for the engine, and the engine's name and version from its /_ping headers.

    The API version is fixed rather than negotiated: negotiation and /version cost podman
    0.4 s each, a third of a short run's overhead. 1.41 is served by Docker 20.10 and later
    and by podman 3 and later."""
    need("docker")
    import docker
    from docker.errors import DockerException

    where = os.environ.get("DOCKER_HOST") or "the default socket (DOCKER_HOST is not set)"
    try:
        client = docker.from_env(version=API_VERSION, timeout=CONNECT_TIMEOUT_S)
        response = client.api.get(f"{client.api.base_url}/_ping")
        response.raise_for_status()
    except (DockerException, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise EngineError(f"no container engine reachable at {where} ({first}); {START_HINT}") from exc
    # Log streams of a quiet command and waits on a long one must not time out: no read
    # timeout from here on (requests takes None; the stubs say int).
    client.api.timeout = None  # type: ignore[assignment]
    return client, engine_info(response.headers.get("Server", ""))


def engine_info(server: str) -> EngineInfo:
    """'Libpod/4.3.1 (linux)' -> Podman 4.3.1; 'Docker/27.1.1 (linux)' -> Docker 27.1.1."""
    product, _, rest = server.partition("/")
    version = rest.split(" ", 1)[0] or None
    names = {"libpod": "Podman", "docker": "Docker"}
    return EngineInfo(name=names.get(product.lower(), product or "unknown engine"), version=version)


def resolve_image(client: docker.DockerClient, ref: str) -> ImageInfo:
    """The exact local image `ref` names (a tag, an id, or repo@digest); never pulled."""
    from docker.errors import APIError, ImageNotFound

    try:
        image = client.images.get(ref)
    except ImageNotFound as exc:
        raise EngineError(
            f"image {ref!r} is not available in the container engine; build or load it first "
            "(auditor never pulls: a run must use the image you chose)"
        ) from exc
    except APIError as exc:
        raise EngineError(f"image {ref!r}: the engine refused: {exc.explanation or exc}") from exc
    attrs = image.attrs
    platform = "/".join(p for p in (attrs.get("Os"), attrs.get("Architecture")) if p) or None
    config = attrs.get("Config") or {}
    return ImageInfo(
        ref=ref,
        id=str(image.id),
        repo_digests=tuple(attrs.get("RepoDigests") or ()),
        platform=platform,
        entrypoint=tuple(str(a) for a in config.get("Entrypoint") or ()),
        env=tuple(str(e) for e in config.get("Env") or ()),
    )


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_memory(text: str) -> int:
    """Docker's memory sizes: 512m, 2g, 1.5GiB, 1073741824 (binary units, as Docker reads them)."""
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"--memory {text!r}: expected a size such as 512m or 2g")
    number, unit = float(match.group(1)), match.group(2).lower()
    value = int(number * 1024 ** " kmgt".index(unit or " "))
    if value < 6 * 1024 * 1024:
        raise UsageError(f"--memory {text!r}: below the 6 MiB minimum container engines accept")
    return value
