"""Checks on the run itself: outcome, source, hardware, seeds."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from auditor.check.checks.interface import CheckContext, CheckDef, NoParams, cannot, missing
from auditor.record import Missing, RunRecord
from auditor.record.base import Frozen
from auditor.record.findings import JsonScalar, Verdict
from auditor.record.model_card import ModelCard
from auditor.record.models import GitSource, Gpus, NotARepository, ReportedSource
from auditor.text import param_text


def _run_succeeded(record: RunRecord, _: NoParams, _ctx: CheckContext) -> list[Verdict]:
    ident = record.identity
    if ident.status == "unfinished":  # still running, or died without telling its tool: unknown either way
        tool = record.origin.tool or "its tool"
        return [cannot("run", f"the run is unfinished: {tool} never recorded its end, so its outcome is unknown")]
    if ident.exit_code is None and ident.status == "succeeded":  # ingested: the tool kept only a status
        return [cannot("run", "the run's exit code was not recorded by the tool it was ingested from")]
    ok = ident.status == "succeeded" and ident.exit_code == 0  # a record saying otherwise is inconsistent
    return [
        Verdict(
            subject="run",
            outcome="pass" if ok else "fail",
            message=f"the run {ident.status} "
            + ("(no exit code recorded)" if ident.exit_code is None else f"with exit code {ident.exit_code}"),
            evidence={"status": ident.status, "exit_code": ident.exit_code},
        )
    ]


def _source_clean(record: RunRecord, _: NoParams, _ctx: CheckContext) -> list[Verdict]:
    src = record.source
    if isinstance(src, Missing):
        return [missing("source", "the source", src)]
    if isinstance(src, NotARepository):
        return [Verdict(subject="source", outcome="fail", message="the code is not under version control")]
    if isinstance(src, ReportedSource):
        commit = f" commit {src.commit[:12]}" if src.commit else " no commit"
        return [cannot("source", f"{src.tool} reported{commit}, but not whether the working tree was clean")]
    assert isinstance(src, GitSource)  # noqa: S101 - the union has four members
    if src.commit is None:
        return [Verdict(subject="source", outcome="fail", message="the repository has no commit")]
    evidence: dict[str, JsonScalar] = {"commit": src.commit, "dirty": src.dirty, "diff_sha256": src.diff_sha256}
    if src.dirty:
        return [
            Verdict(
                subject="source",
                outcome="fail",
                evidence=evidence,
                message=f"uncommitted changes on top of {src.commit[:12]} ({src.untracked_count} untracked)",
            )
        ]
    return [Verdict(subject="source", outcome="pass", evidence=evidence, message=f"clean at {src.commit[:12]}")]


def _hardware_recorded(record: RunRecord, _: NoParams, _ctx: CheckContext) -> list[Verdict]:
    hw = record.hardware
    gaps = [name for name in ("cpu", "memory", "gpus") if isinstance(getattr(hw, name), Missing)]
    if gaps:
        reasons = "; ".join(f"{n}: {getattr(hw, n).reason}" for n in gaps)
        return [cannot("hardware", f"not captured: {reasons}")]
    if isinstance(hw.gpus, Gpus) and not hw.gpus.driver_version:
        return [Verdict(subject="hardware", outcome="fail", message="GPUs were present but no driver version")]
    return [Verdict(subject="hardware", outcome="pass", message="CPU, memory and GPU (or its absence) recorded")]


class SeedParams(Frozen):
    names: str = Field(r"(^|[_./:])(seed|random_state)$", description="Regular expression for seed parameter names")

    @field_validator("names")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        return value


def _seeds_recorded(record: RunRecord, params: SeedParams, _ctx: CheckContext) -> list[Verdict]:
    """Seeds logged as parameters, or found in the params files declared in auditor.yaml (recorded in
    the model card). A declared file that could not be read makes the check unable to say "no seed",
    unless a seed was found elsewhere."""
    pattern = re.compile(params.names, re.IGNORECASE)
    found: dict[str, JsonScalar] = {}
    for key, value in sorted(record.params.items()):
        if pattern.search(key):
            found[f"logged: {key}"] = value
    files = record.model_card.params_files if isinstance(record.model_card, ModelCard) else ()
    for file in files:
        for key, value in file.values.items():
            if pattern.search(key):
                found[f"{file.path}: {key}"] = value
    if found:
        shown = "; ".join(f"{where} = {param_text(value)}" for where, value in found.items())
        return [Verdict(subject="run", outcome="pass", message=f"seeds recorded: {shown}", evidence=found)]
    if record.schema_version == "1.0":
        return [cannot("run", "this record predates logged parameters (schema 1.0)")]
    unread = [f"{file.path} ({file.problem})" for file in files if file.problem and not file.values]
    if unread:
        return [cannot("run", f"no seed was logged, and a declared params file could not be read: {', '.join(unread)}")]
    where = f"nor found in {', '.join(f.path for f in files)}" if files else "and no params file is declared"
    return [
        Verdict(
            subject="run",
            outcome="fail",
            message=f"no random seed was logged (auditor.log_params({{'seed': ...}})) {where}",
        )
    ]


def _image_pinned(record: RunRecord, _: NoParams, _ctx: CheckContext) -> list[Verdict]:
    container = record.container
    if container is None:
        if record.origin.executor == "container":
            return [cannot("container", "the run used a container but its image was not recorded")]
        return [Verdict(subject="container", outcome="not_applicable", message="the run did not use a container")]
    evidence = {"image": container.image_ref, "image_id": container.image_id}
    if "@sha256:" in container.image_ref:
        return [Verdict(subject="container", outcome="pass", evidence=evidence, message="image pinned by digest")]
    ref = container.image_ref.removeprefix("sha256:")
    if container.image_id and len(ref) >= 12 and container.image_id.removeprefix("sha256:").startswith(ref):
        return [Verdict(subject="container", outcome="pass", evidence=evidence, message="image pinned by its id")]
    known = f"; known digests: {', '.join(container.repo_digests)}" if container.repo_digests else ""
    return [
        Verdict(
            subject="container",
            outcome="fail",
            evidence=evidence,
            message=f"image {container.image_ref!r} is referenced by a tag, which can move{known}",
        )
    ]


RUN_SUCCEEDED = CheckDef("run_succeeded", NoParams, _run_succeeded, "the command exited 0")
SOURCE_CLEAN = CheckDef("source_clean", NoParams, _source_clean, "code recorded at a commit with a clean tree")
HARDWARE_RECORDED = CheckDef("hardware_recorded", NoParams, _hardware_recorded, "CPU, memory and GPUs recorded")
SEEDS_RECORDED = CheckDef(
    "seeds_recorded", SeedParams, _seeds_recorded, "random seeds logged as parameters or found in declared params files"
)
IMAGE_PINNED = CheckDef("image_pinned", NoParams, _image_pinned, "a container image is referenced by digest")
