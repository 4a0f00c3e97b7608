"""Checks on the software environment: installed distributions against declared pins.

Where no installed packages were captured (an ingested run), the declared requirements are judged
on their own, labelled as declared (auditor.check.checks.declared), beside a verdict that the
installed packages could not be checked."""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name
from pydantic import Field

from auditor.check.checks.declared import DECLARED_NOTE, DeclaredPin, declared_requirements, is_vcs
from auditor.check.checks.interface import CheckContext, CheckDef, cannot, missing
from auditor.record import Missing, RunRecord
from auditor.record.base import Frozen
from auditor.record.findings import JsonScalar, Verdict
from auditor.record.models import DeclaredRequirements, Distribution, Packages, Pin


class PinnedParams(Frozen):
    ignore: tuple[str, ...] = Field(("pip",), description="Distributions not expected in requirements")
    require_hashes: bool = Field(True, description="Fail a pin without hashes when its file hashes others")


def _packages_pinned(record: RunRecord, params: PinnedParams, _ctx: CheckContext) -> list[Verdict]:
    env = record.environment
    if not isinstance(env.packages, Packages):
        return _declared_only(record, env.packages, params)
    if not isinstance(env.declared, DeclaredRequirements):
        return [missing("environment", "declared requirements", env.declared if env.declared else None)]
    pins: dict[str, tuple[Pin, bool]] = {}
    for file in env.declared.files:
        file_hashes = any(p.hashes for p in file.pins)
        for pin in file.pins:
            pins.setdefault(canonicalize_name(pin.name), (pin, file_hashes))
    ignored = {canonicalize_name(n) for n in params.ignore}
    out = [
        _verdict(dist, pins.get(canonicalize_name(dist.name)), params)
        for dist in env.packages.distributions
        if not dist.shadowed and canonicalize_name(dist.name) not in ignored
    ]
    problems = [p for f in env.declared.files for p in f.problems]
    if problems:
        out.append(cannot("environment", f"requirements lines could not be read: {'; '.join(problems)[:300]}"))
    return out


def _verdict(dist: Distribution, pinned: tuple[Pin, bool] | None, params: PinnedParams) -> Verdict:
    subject = f"package:{dist.name}"
    evidence: dict[str, JsonScalar] = {"installed": dist.version, "install_kind": dist.install_kind}
    if dist.install_kind in ("editable", "local"):
        return Verdict(
            subject=subject,
            outcome="fail",
            evidence=evidence,
            message=f"{dist.install_kind} install from {dist.url or 'a local path'}: not reproducible",
        )
    if dist.install_kind == "vcs" and not dist.commit_id:
        return Verdict(subject=subject, outcome="fail", evidence=evidence, message="VCS install without a commit")
    if pinned is None:
        return Verdict(
            subject=subject,
            outcome="fail",
            evidence=evidence,
            message=f"{dist.name} {dist.version} is installed but not pinned in the requirements",
        )
    pin, file_hashes = pinned
    evidence["pinned"] = pin.specifier or pin.url
    if dist.install_kind == "vcs":
        return _vcs(subject, dist, pin, evidence)
    if pin.version is None:
        return Verdict(
            subject=subject,
            outcome="fail",
            evidence=evidence,
            message=f"requirement {_written(pin)} is not an exact == pin",
        )
    if pin.version != dist.version:
        return Verdict(
            subject=subject,
            outcome="fail",
            evidence=evidence,
            message=f"pinned {pin.version}, installed {dist.version}",
        )
    if params.require_hashes and file_hashes and not pin.hashes:
        return Verdict(
            subject=subject,
            outcome="fail",
            evidence=evidence,
            message="pinned without a hash while the file hashes its other requirements",
        )
    return Verdict(
        subject=subject,
        outcome="pass",
        evidence=evidence,
        message=f"pinned =={pin.version}" + (f" with {len(pin.hashes)} hash(es)" if pin.hashes else ""),
    )


def _written(pin: Pin) -> str:
    """The requirement as written (never Python's None): `numpy>=1`, `numpy` (no version at all), a URL."""
    if pin.url:
        return f"{pin.name} @ {pin.url}"
    return f"{pin.name}{pin.specifier}" if pin.specifier else f"{pin.name} (no version at all)"


def _declared_only(record: RunRecord, packages: Missing, params: PinnedParams) -> list[Verdict]:
    """No installed packages: say so (never a pass), and judge each declared requirement, labelled declared."""
    env = record.environment
    found = declared_requirements(record)
    gap = missing("environment", "installed packages", packages)
    if found is None:
        return [gap]
    out = [cannot(gap.subject, f"{gap.message}; {DECLARED_NOTE}")] if found else [gap]
    ignored = {canonicalize_name(n) for n in params.ignore}
    out += [_declared_verdict(d, params) for d in found if d.name not in ignored]
    assert isinstance(env.declared, DeclaredRequirements)  # noqa: S101 - declared_requirements found some
    problems = [f"{f.path}: {p}" for f in env.declared.files for p in f.problems]
    if problems:
        out.append(cannot("environment", f"declared requirements could not be read: {'; '.join(problems)[:300]}"))
    return out


def _declared_verdict(declared: DeclaredPin, params: PinnedParams) -> Verdict:
    pin, subject, evidence = declared.pin, f"package:{declared.pin.name}", declared.evidence()
    said = f"declared requirement {declared.written} in {declared.where}"

    def verdict(outcome: str, why: str) -> Verdict:
        held = outcome == "pass"
        return Verdict(subject=subject, outcome="pass" if held else "fail", message=f"{said} {why}", evidence=evidence)

    if pin.editable:
        return verdict("fail", "is an editable install: not reproducible")
    if pin.url and is_vcs(pin.url):
        ref = _vcs_ref(pin.url)
        evidence["requested"] = ref or None
        if not _COMMIT.fullmatch(ref):
            return verdict("fail", f"is pinned to {f'a moving ref {ref!r}' if ref else 'no ref at all'}, not a commit")
        return verdict("pass", f"is pinned to commit {ref[:12]} (not observed installed)")
    if pin.url:
        if pin.hashes or re.search(r"#(sha256|sha384|sha512)=", pin.url):
            return verdict("pass", "is a direct URL with a hash (not observed installed)")
        return verdict("fail", "is a direct URL without a hash: what it serves can change")
    if pin.version is None:
        return verdict("fail", "is not an exact == pin")
    if params.require_hashes and declared.file_hashes and not pin.hashes:
        return verdict("fail", "is pinned without a hash while the file hashes its other requirements")
    hashed = f" with {len(pin.hashes)} hash(es)" if pin.hashes else ""
    return verdict("pass", f"is pinned =={pin.version}{hashed} (declared, not observed installed)")


def _vcs_ref(url: str) -> str:
    return url.rpartition("@")[2].split("#")[0] if "@" in url.split("://")[-1] else ""


_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def _vcs(subject: str, dist: Distribution, pin: Pin, evidence: dict[str, JsonScalar]) -> Verdict:
    """A VCS requirement is pinned only by a full commit id, and the install must be that commit.

    pip records the commit it checked out for any ref, so `@main` would otherwise look pinned."""
    ref = _vcs_ref(pin.url or "")
    evidence["requested"] = ref or None
    if not _COMMIT.fullmatch(ref):
        why = f"a moving ref {ref!r}" if ref else "no ref at all"
        return Verdict(subject=subject, outcome="fail", evidence=evidence, message=f"VCS requirement pinned to {why}")
    if dist.commit_id != ref:
        got = (dist.commit_id or "none")[:12]
        return Verdict(
            subject=subject, outcome="fail", evidence=evidence, message=f"pinned {ref[:12]}, installed {got}"
        )
    return Verdict(
        subject=subject, outcome="pass", evidence=evidence, message=f"VCS install at pinned commit {ref[:12]}"
    )


PACKAGES_PINNED = CheckDef(
    "packages_pinned",
    PinnedParams,
    _packages_pinned,
    "every installed distribution matches an exact pin of the declared requirements",
)
