"""Runs for cross-run lineage and duplicate-detection tests: factory records with lineage, fairness and
code, committed into a real store, read back as summaries through auditor.index.query.

Code fingerprints here are taken the way capture/codeprint.py describes them (identifiers, strings and
numbers replaced by their kind, MinHash of token 5-shingles, 64 values), written out small so these
tests need no capture: two files that differ only in names get the same signature.
"""

from __future__ import annotations

import hashlib
import io
import keyword
import tokenize
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from auditor.index.query import Filters, summaries
from auditor.index.summary import RunSummary
from auditor.record.code import Code, CodeFile
from auditor.record.fairness import AttributeFairness, Bootstrap, Fairness
from auditor.record.lineage import ContentHash, Dataset, Datasheet, FileHash, Lineage, ModelArtifact, ProjectInfo, Step
from auditor.record.models import Links, Missing, RunRecord
from auditor.store.runs import RunStore
from tests.factories import START, make_record

MASK = (1 << 32) - 1
PRIME = (1 << 61) - 1


@dataclass(frozen=True)
class Run:
    run_id: str
    project: str
    owner: str | None = None
    inputs: tuple[tuple[str, str], ...] = ()  # (path, content)
    outputs: tuple[tuple[str, str], ...] = ()
    models: tuple[tuple[str, str], ...] = ()
    steps: tuple[tuple[str, str], ...] = ()  # (name, command)
    label: str | None = None
    sensitive: tuple[str, ...] = ()
    code: tuple[tuple[str, str], ...] = ()  # (path, source)
    reproduces: str | None = None
    day: int = 0
    extra: dict[str, object] = field(default_factory=dict)


def hashed(content: str) -> ContentHash:
    digest = hashlib.sha256(content.encode()).hexdigest()
    size = len(content.encode())
    return ContentHash(
        kind="file", sha256=digest, size=size, files=(FileHash(path="", sha256=digest, size=size),), hashed_at=START
    )


def key(content: str) -> str:
    return f"sha256:{hashlib.sha256(content.encode()).hexdigest()}"


def minhash(source: str) -> tuple[int, ...]:
    tokens = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME:
            tokens.append(tok.string if keyword.iskeyword(tok.string) else "ID")
        elif tok.type in (tokenize.STRING, tokenize.NUMBER):
            tokens.append("LIT")
        elif tok.type == tokenize.OP:
            tokens.append(tok.string)
    shingles = {" ".join(tokens[i : i + 5]) for i in range(max(0, len(tokens) - 4))}
    values = [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big") for s in shingles]
    return tuple(min(((a * v + a * a) % PRIME) & MASK for v in values) for a in range(1, 65)) if values else ()


def record_of(run: Run) -> RunRecord:
    def dataset(role: str, index: int, path: str, content: str) -> Dataset:
        state = {"before": hashed(content)} if role == "input" else {"after": hashed(content)}
        return Dataset(id=f"{role}{index}", role=role, path=path, datasheet=Datasheet(), **state)  # type: ignore[arg-type]

    datasets = tuple(dataset("input", i, p, c) for i, (p, c) in enumerate(run.inputs)) + tuple(
        dataset("output", i, p, c) for i, (p, c) in enumerate(run.outputs)
    )
    lineage = Lineage(
        spec_path="auditor.yaml",
        spec_sha256="0" * 64,
        project=ProjectInfo(name=run.project, owner=run.owner),
        datasets=datasets,
        steps=tuple(Step(name=n, command=c, inputs=(), outputs=()) for n, c in run.steps),
        models=tuple(ModelArtifact(id=f"model{i}", path=p, after=hashed(c)) for i, (p, c) in enumerate(run.models)),
        observed=Missing(reason="not observed in this test"),
        graph={},
    )
    update: dict[str, object] = {"lineage": lineage, "links": Links(reproduces=run.reproduces)}
    if run.label:
        blocks = tuple(AttributeFairness(attributes=(a,), groups=(), disparities=(), issues=()) for a in run.sensitive)
        update["fairness"] = Fairness(
            predictions_path="predictions.csv", predictions_sha256="0" * 64, rows=100, label_column=run.label,
            prediction_column="p", score_column=None, favourable_outcome="1", min_group_size=30, reference_groups={},
            bootstrap=Bootstrap(resamples=0, seed=0, confidence=0.95), by_attributes=blocks, issues=(),
        )  # fmt: skip
    if run.code:
        files = tuple(
            CodeFile(
                path=p, sha256=hashlib.sha256(s.encode()).hexdigest(), size=len(s), language="python",
                tokens=len(s.split()), minhash=minhash(s),
            )
            for p, s in run.code
        )  # fmt: skip
        update["code"] = Code(method="read by the command", fingerprint="minhash-64/shingle-5/v1", files=files)
    update.update(run.extra)
    started = START + timedelta(days=run.day)
    base = make_record(run.run_id, project=run.project, started_at=started, ended_at=started + timedelta(minutes=1))
    return base.model_copy(update=update)


def store_of(root: Path, runs: list[Run]) -> RunStore:
    store = RunStore.create(root)
    for run in runs:
        store.commit(store.begin(run.run_id), record_of(run))
    return store


def summaries_of(root: Path, runs: list[Run]) -> list[RunSummary]:
    return summaries(store_of(root, runs), Filters())
