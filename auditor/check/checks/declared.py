"""The declared environment as the pinning and vulnerability rules read it, when no installed one was captured.

An ingested run (MLflow, DVC, W&B) carries no installed packages, only the requirements files a
model or a project declares. Those say what *should* be installed, not what was: every verdict
made from them says so in its message and carries `environment: declared`, the file and the line
in its evidence, and the rules still report that the installed packages could not be checked, so
a run whose declared pins are all clean is never a pass.

The same requirement is often declared several times (MLflow writes requirements.txt and the pip
list of conda.yaml from one list): it is judged once, at its first place, and the others are named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from auditor.record import RunRecord
from auditor.record.findings import JsonScalar
from auditor.record.models import DeclaredRequirements, Pin

DECLARED_NOTE = "the declared requirements were checked instead; they say what should be installed, not what was"
_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.IGNORECASE)


@dataclass(frozen=True)
class DeclaredPin:
    """One distinct requirement of the declared environment, at the first place it is declared."""

    pin: Pin
    file: str
    file_hashes: bool  # the file hashes some of its requirements (pip's all-or-none hash mode)
    also: tuple[str, ...] = ()  # the other places the same requirement is declared

    @property
    def name(self) -> str:
        return canonicalize_name(self.pin.name)

    @property
    def where(self) -> str:
        return f"{self.file} line {self.pin.line}"

    @property
    def written(self) -> str:
        """The requirement as a reader would write it back: `jinja2>=2`, `-e ./src`, `pkg @ URL`."""
        pin = self.pin
        if pin.editable:
            return f"-e {pin.url or pin.name}"
        if pin.url:
            return f"{pin.name} @ {pin.url}"
        text = f"{pin.name}{pin.specifier}"
        return f"{text}; {pin.marker}" if pin.marker else text

    def evidence(self) -> dict[str, JsonScalar]:
        out: dict[str, JsonScalar] = {
            "environment": "declared",
            "requirement": self.written,
            "file": self.file,
            "line": self.pin.line,
        }
        if self.also:
            out["also_declared_in"] = "; ".join(self.also)
        return out


def declared_requirements(record: RunRecord) -> list[DeclaredPin] | None:
    """Every distinct declared requirement, in file order; None when the record declares none."""
    declared = record.environment.declared
    if not isinstance(declared, DeclaredRequirements):
        return None
    first: dict[tuple[str, str, str, bool, str], DeclaredPin] = {}
    for file in declared.files:
        hashed = any(p.hashes for p in file.pins)
        for pin in file.pins:
            key = (canonicalize_name(pin.name), pin.specifier, pin.url or "", pin.editable, pin.marker or "")
            seen = first.get(key)
            if seen is None:
                first[key] = DeclaredPin(pin, file.path, hashed)
            elif len(seen.also) < 20:
                first[key] = DeclaredPin(
                    seen.pin, seen.file, seen.file_hashes, (*seen.also, f"{file.path} line {pin.line}")
                )
    return list(first.values())


def is_exact(declared: DeclaredPin) -> bool:
    """Pinned to one released version (==), so an advisory database can say whether it is affected."""
    pin = declared.pin
    return pin.version is not None and not pin.url and not pin.editable


def exact_versions(record: RunRecord) -> list[tuple[str, str]] | None:
    """(name, version) of every exactly pinned declared requirement; None when nothing is declared."""
    found = declared_requirements(record)
    if found is None:
        return None
    return sorted({(d.pin.name, d.pin.version) for d in found if is_exact(d) and d.pin.version})


def is_vcs(url: str) -> bool:
    return bool(_VCS.match(url))
