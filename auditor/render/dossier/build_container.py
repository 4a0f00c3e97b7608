"""Dossier content about a containerised run: the exact image, the engine, the limits it ran under,
what it could reach (network, mounts), and the image's operating-system packages.

A reader must be able to tell an isolated run from one that had the network and a writable
project folder, so every setting is spelled out, and an absent limit reads "no limit".
"""

from __future__ import annotations

from collections import Counter

from auditor.record import Missing, RunRecord
from auditor.record.models import Container, ContainerConfig, SystemPackages
from auditor.render.dossier.format import bytes_text, missing
from auditor.render.dossier.views import Item
from auditor.text import count

MANAGERS = {"dpkg": "Debian (dpkg)", "apk": "Alpine (apk)", "rpm": "RPM"}


def container(record: RunRecord) -> tuple[tuple[Item, ...], tuple[tuple[str, str, str], ...]]:
    """The container's facts, and its mounts as (host path, container path, access)."""
    c = record.container
    if c is None:
        return (), ()
    engine = " ".join(p for p in (c.engine, c.engine_version) if p)
    items = [
        Item("Image", c.image_ref, mono=True),
        Item("Image id", c.image_id or "not recorded", missing=c.image_id is None, mono=True),
        Item(
            "Repository digests",
            ", ".join(c.repo_digests) or "none: the engine knows no registry digest (a locally built or loaded image)",
            mono=bool(c.repo_digests),
        ),
        Item("Image platform", c.platform or "not recorded", missing=c.platform is None),
        Item("Container engine", engine or "not recorded", missing=not engine),
    ]
    if c.config is None:
        items.append(Item("Settings", "not recorded (a schema 1.2 record)", missing=True))
        return tuple(items), ()
    items += _settings(c.config)
    mounts = tuple(
        (m.source, m.target, "read-only" if m.read_only else "writable")
        for m in sorted(c.config.mounts, key=lambda m: m.target)
    )
    return tuple(items), mounts


def _settings(config: ContainerConfig) -> list[Item]:
    network = "no network" if config.network == "none" else f"{config.network} (network access allowed)"
    kept = Counter(v.disposition for v in config.variables)
    variables = f"{len(config.variables)} given"
    if config.variables:
        variables += (
            f" ({kept['kept']} kept, {kept['masked']} masked, {kept['fingerprinted']} replaced by fingerprints): "
            + ", ".join(v.name for v in config.variables)
        )
    writable = sum(1 for m in config.mounts if not m.read_only)
    return [
        Item("Ran as user", config.user or "the image's default user", mono=config.user is not None),
        Item("Working folder", config.workdir, mono=True),
        Item("Network", network),
        Item("CPU limit", "no limit" if config.cpus is None else f"{config.cpus:g} CPUs"),
        Item("Memory limit", "no limit" if config.memory_bytes is None else bytes_text(config.memory_bytes)),
        Item("GPUs", "none given to the container" if config.gpus is None else config.gpus),
        Item("Timeout", "no limit" if config.timeout_s is None else f"{config.timeout_s:g} s"),
        Item("Mounts", f"{len(config.mounts)}: {len(config.mounts) - writable} read-only, {writable} writable"),
        Item("Variables", variables),
    ]


def os_packages(container: Container | None) -> tuple[Item | None, tuple[tuple[str, str, str], ...], str]:
    """The platform line, the appendix rows (name, version, architecture) and the appendix caption."""
    if container is None:
        return None, (), ""
    found = container.system_packages
    if not isinstance(found, SystemPackages):
        reason = missing(found) if isinstance(found, Missing) else "not recorded (a schema 1.2 record)"
        return Item("OS packages", reason, missing=True), (), ""
    rows = tuple(
        (p.name, p.version, p.architecture or "")
        for p in sorted(found.packages, key=lambda p: (p.name.lower(), p.name, p.version))
    )
    manager = MANAGERS.get(found.manager, found.manager)
    text = f"{count(len(rows), 'package')} in the image, listed by {manager}"
    return Item("OS packages", f"{text}; the full list is in appendix B"), rows, text
