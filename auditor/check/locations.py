"""Where a finding comes from in the user's repository, so code scanning and CI annotations point there.

A package finding points at the requirements line that declares the package (the record keeps each
requirements file, relative to the project root, and the line of every pin); a dataset finding at
its entry in auditor.yaml; an undeclared file read at that file. Paths are relative to the
repository root, which is where `auditor check` runs in CI (its working folder).

auditor.yaml lines come from the file as it is now, so they are used only when its bytes are the
ones the run recorded (`lineage.spec_sha256`): an edited spec could put a dataset on another line.
A finding with nowhere of its own to point keeps `location` None; renderers then point at the
record (SARIF) or at nothing (annotations), never at a made-up line 1.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from auditor.record import RunRecord
from auditor.record.findings import Finding, FindingLocation
from auditor.record.lineage import Lineage
from auditor.record.models import DeclaredRequirements


def normalize(name: str) -> str:
    """A package name as PEP 503 compares them: `Foo_Bar` and `foo-bar` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Places:
    """The places of one run's subjects: package name -> requirements line, dataset id -> spec line."""

    packages: Mapping[str, FindingLocation] = field(default_factory=dict)
    datasets: Mapping[str, FindingLocation] = field(default_factory=dict)
    root: str = ""  # the project root relative to the repository root ('' when they are one)

    def of(self, subject: str) -> FindingLocation | None:
        kind, _, name = subject.partition(":")
        if kind == "package":
            return self.packages.get(normalize(name))
        if kind == "dataset":
            return self.datasets.get(name)
        if kind == "file" and name and not PurePosixPath(name).is_absolute() and ".." not in PurePosixPath(name).parts:
            return FindingLocation(path=_join(self.root, name))
        return None

    def locate(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings, each with its location where one is known (a copy only for those)."""
        # Only these subjects can have a place; a run with no known places (no requirements file, no
        # auditor.yaml of its own) has places only for file reads: 10,000 dataset findings are not looked up.
        kinds = tuple(kind for kind, places in (("package:", self.packages), ("dataset:", self.datasets)) if places)
        kinds += ("file:",)
        out = []
        for finding in findings:
            where = self.of(finding.subject) if finding.subject.startswith(kinds) else None
            out.append(finding if where is None else finding.model_copy(update={"location": where}))
        return out


def places(record: RunRecord, spec: Path | None, repository: Path) -> Places:
    """The places of `record`'s subjects. `spec` is the auditor.yaml in use (None without one); the
    project root is its folder, else the repository root."""
    root = _relative(spec.parent, repository) if spec is not None else ""
    if root is None:  # the project lies outside the repository: nothing in it can be pointed at
        return Places()
    return Places(packages=_packages(record, root), datasets=_datasets(record, spec, root), root=root)


def _packages(record: RunRecord, root: str) -> dict[str, FindingLocation]:
    declared = record.environment.declared
    if not isinstance(declared, DeclaredRequirements):
        return {}
    out: dict[str, FindingLocation] = {}
    for file in declared.files:
        path = PurePosixPath(file.path)
        if path.is_absolute() or ".." in path.parts:
            continue  # outside the project: not a place in this repository
        for pin in file.pins:
            out.setdefault(normalize(pin.name), FindingLocation(path=_join(root, file.path), line=pin.line))
    return out


def _datasets(record: RunRecord, spec: Path | None, root: str) -> dict[str, FindingLocation]:
    lineage = record.lineage
    if spec is None or not isinstance(lineage, Lineage) or lineage.spec_sha256 is None:
        return {}
    try:
        raw = spec.read_bytes()
    except OSError:
        return {}
    if hashlib.sha256(raw).hexdigest() != lineage.spec_sha256:
        return {}  # not the spec this run declared its datasets in
    from auditor.project.yamlfile import YamlFileError, load_yaml

    try:
        data, tree = load_yaml(raw.decode("utf-8"), spec)
    except (YamlFileError, UnicodeDecodeError):
        return {}
    entries = data.get("datasets") if isinstance(data, dict) else None
    if not isinstance(entries, list) or tree is None:
        return {}
    from auditor.project.yamlfile import line_of

    path = _join(root, spec.name)
    out: dict[str, FindingLocation] = {}
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            out.setdefault(entry["id"], FindingLocation(path=path, line=line_of(tree, ("datasets", index))))
    return out


def _relative(path: Path, repository: Path) -> str | None:
    try:
        relative = path.resolve().relative_to(repository.resolve()).as_posix()
    except ValueError:
        return None
    return "" if relative == "." else relative


def _join(root: str, path: str) -> str:
    return PurePosixPath(root, path).as_posix() if root else PurePosixPath(path).as_posix()
