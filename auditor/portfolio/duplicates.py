"""Duplicate-work detection: pairs of projects (or owners) that look like the same work, with evidence.

Four signals are compared between two groups of runs, each a strength from 0 to 1:
- datasets: the input dataset versions both read, by content key (weighted Jaccard);
- pipeline: the steps both ran, by normalised command (paths cut to their file name, numbers and
  whitespace folded) and by normalised step name (weighted Jaccard);
- labels: the same label column and the same sensitive attributes;
- code: files whose MinHash signatures (normalised token shingles, record schema 1.6) are alike; an
  equal SHA-256 is the same file.

False-positive control. A dataset version, step or code file that REFERENCE_AT or more groups share is
shared reference material (a public dataset, a common `pip install` step, a vendored helper): it is
named in the evidence but weighs nothing. A pair needs at least two signals of STRONG or more among
datasets, pipeline and code (the label signal only adds to a pair that already has them), so shared
reference data alone, or one signal alone, never makes a pair. A group is never its own duplicate, so
two runs of one project never are.

Only candidate pairs are scored, never all pairs: inverted indexes from each rare dataset key, rare
step signature, rare file hash and each band of every MinHash signature (locality-sensitive hashing:
16 bands of 4 values find files about half alike or more) to the groups holding it. Keys held by
REFERENCE_AT or more groups are reference material and make no candidates, so every posting list is
small and the work grows with the number of runs, not with the square of the number of projects.
Candidates from LSH buckets holding more than BUCKET_CAP groups (boilerplate) are skipped.

The signatures are compared position by position, which assumes both files were fingerprinted by the
same scheme (capture/codeprint.py: 64 values); signatures of other lengths are not compared.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Literal

from auditor.index.summary import RunSummary
from auditor.text import one_line

EvidenceKind = Literal["datasets", "pipeline", "labels", "code"]
GroupBy = Literal["project", "owner"]
GROUP_BY: tuple[GroupBy, ...] = ("project", "owner")

WEIGHTS: dict[EvidenceKind, float] = {"datasets": 0.35, "code": 0.3, "pipeline": 0.25, "labels": 0.1}
REFERENCE_AT = 3  # groups sharing a key from which it is reference material (weighs nothing)
STRONG = 0.5  # a signal's strength from which it counts toward a pair
SIGNATURE_LENGTH = 64
BANDS = 16
ROWS = SIGNATURE_LENGTH // BANDS
BUCKET_CAP = 50
ALIKE = 0.5  # estimated Jaccard from which two files are reported as alike
LISTED = 4  # items named per evidence line

_PATH = re.compile(r"[^\s=]*(?:[/\\][^\s=]*|\.[a-z][a-z0-9]{0,4}\b)")
_CODE = (".py", ".r", ".sql", ".sh", ".ipynb", ".jl", ".scala")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WORD = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Evidence:
    kind: EvidenceKind
    weight: float  # what this signal adds to the pair's score
    detail: str  # plain words: which datasets, steps, attributes or files


@dataclass(frozen=True)
class DuplicatePair:
    a: str
    b: str
    score: float  # 0..1
    evidence: tuple[Evidence, ...]
    a_owners: tuple[str, ...] = ()  # by project: each side's owners; by owner: the owner itself
    b_owners: tuple[str, ...] = ()
    a_projects: tuple[str, ...] = ()  # each side's projects
    b_projects: tuple[str, ...] = ()


@dataclass
class _Group:
    name: str
    owners: set[str] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)
    inputs: dict[str, str] = field(default_factory=dict)  # content key -> a path or id naming it
    steps: dict[str, str] = field(default_factory=dict)  # normalised command -> step as written
    step_names: dict[str, str] = field(default_factory=dict)  # normalised name -> name as written
    labels: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)
    files: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)  # sha256 -> (path, minhash)


def normalise_command(command: str) -> str:
    """A step's command, lower case: a program's path cut to its file name, other paths (data, outputs)
    as 'PATH', numbers as '#', whitespace folded."""
    return " ".join(_NUMBER.sub("#", _PATH.sub(_path, command.lower())).split())


def _path(match: re.Match[str]) -> str:
    name = re.split(r"[/\\]", match.group().rstrip("/\\"))[-1]
    return name if name.endswith(_CODE) else "PATH"


def normalise_name(name: str) -> str:
    return _WORD.sub(" ", _NUMBER.sub("#", name.lower())).strip()


def find_duplicates(
    summaries: Sequence[RunSummary], *, by: GroupBy = "project", min_score: float = 0.0
) -> list[DuplicatePair]:
    """Pairs of groups (projects or owners) that look like the same work, highest score first.
    By owner, runs whose project names no owner are left out."""
    groups = _groups(summaries, by)
    if len(groups) < 2:
        return []
    df = _document_frequency(groups.values())
    pairs = []
    for a, b in sorted(_candidates(groups, df)):
        pair = _score(groups[a], groups[b], df, by)
        if pair is not None and pair.score >= min_score:
            pairs.append(pair)
    return sorted(pairs, key=lambda p: (-p.score, p.a, p.b))


def _groups(summaries: Iterable[RunSummary], by: GroupBy) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}
    for s in summaries:
        key = s.project if by == "project" else s.owner
        if not key:
            continue
        group = groups.get(key) or groups.setdefault(key, _Group(key))
        if s.owner:
            group.owners.add(s.owner)
        group.projects.add(s.project)
        for d in s.datasets:
            if d.role == "input" and (d.before or d.after):
                group.inputs.setdefault(d.before or d.after or "", d.path or d.uri or d.id)
        for step in s.steps:
            if step.command.strip():
                group.steps.setdefault(normalise_command(step.command), f"{step.name} ({step.command})")
            if normalise_name(step.name):
                group.step_names.setdefault(normalise_name(step.name), step.name)
        if s.label and s.sensitive:
            group.labels.add((s.label, s.sensitive))
        for code in s.code:
            if len(code.minhash) == SIGNATURE_LENGTH:
                group.files.setdefault(code.sha256, (code.path, code.minhash))
    return groups


def _keys(group: _Group) -> dict[str, Iterable[str]]:
    return {
        "input": group.inputs,
        "step": group.steps,
        "name": group.step_names,
        "file": group.files,
    }


def _document_frequency(groups: Iterable[_Group]) -> dict[tuple[str, str], int]:
    df: dict[tuple[str, str], int] = defaultdict(int)
    for group in groups:
        for kind, keys in _keys(group).items():
            for key in set(keys):
                df[(kind, key)] += 1
    return df


def _candidates(groups: dict[str, _Group], df: dict[tuple[str, str], int]) -> set[tuple[str, str]]:
    postings: dict[tuple[str, object], list[str]] = defaultdict(list)
    for name, group in groups.items():
        for kind in ("input", "step", "file"):
            for key in _keys(group)[kind]:
                if df[(kind, key)] < REFERENCE_AT:
                    postings[(kind, key)].append(name)
        bands: set[tuple[int, tuple[int, ...]]] = set()
        for sha, (_, minhash) in group.files.items():
            if df[("file", sha)] < REFERENCE_AT:
                bands.update((i, minhash[i * ROWS : (i + 1) * ROWS]) for i in range(BANDS))
        for band in bands:
            postings[("band", band)].append(name)
    found: set[tuple[str, str]] = set()
    for holders in postings.values():
        if 2 <= len(holders) <= BUCKET_CAP:
            found.update((a, b) if a < b else (b, a) for a, b in combinations(holders, 2))
    return found


def _rare(kind: str, key: str, df: dict[tuple[str, str], int]) -> bool:
    return df[(kind, key)] < REFERENCE_AT


def _jaccard(kind: str, a: Iterable[str], b: Iterable[str], df: dict[tuple[str, str], int]) -> float:
    left = {k for k in a if _rare(kind, k, df)}
    right = {k for k in b if _rare(kind, k, df)}
    union = left | right
    return len(left & right) / len(union) if union else 0.0


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(one_line(i, 80, middle=True) for i in items[:LISTED])
    return shown + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


def _datasets(a: _Group, b: _Group, df: dict[tuple[str, str], int], by: str) -> tuple[float, str]:
    shared = sorted(set(a.inputs) & set(b.inputs))
    rare = [k for k in shared if _rare("input", k, df)]
    reference = [k for k in shared if not _rare("input", k, df)]
    strength = _jaccard("input", a.inputs, b.inputs, df)
    words = []
    if rare:
        named = [f"{a.inputs[k]} ({_short(k)})" for k in rare]
        versions = (
            "the same input dataset version" if len(rare) == 1 else f"the same {len(rare)} input dataset versions"
        )
        words.append(f"both read {versions}: {_listed(named)}")
    if reference:
        named = [f"{a.inputs[k]} ({_short(k)}, read by {df[('input', k)]} {by}s)" for k in reference]
        words.append(f"shared reference data, not counted: {_listed(named)}")
    return strength, "; ".join(words)


def _pipeline(a: _Group, b: _Group, df: dict[tuple[str, str], int]) -> tuple[float, str]:
    commands = _jaccard("step", a.steps, b.steps, df)
    names = _jaccard("name", a.step_names, b.step_names, df)
    strength = max(commands, (commands + names) / 2)
    same = [a.steps[k] for k in sorted(set(a.steps) & set(b.steps)) if _rare("step", k, df)]
    if not same:
        return strength, ""
    total = max(len(a.steps), len(b.steps))
    return strength, f"{len(same)} of {total} steps run the same commands: {_listed(same)}"


def _labels(a: _Group, b: _Group) -> tuple[float, str]:
    same = sorted(a.labels & b.labels)
    if not same:
        return 0.0, ""
    label, sensitive = same[0]
    attributes = ", ".join(one_line(s, 40) for s in sensitive)
    return 1.0, f"the same label column {one_line(label, 60)} and sensitive attributes {attributes}"


def _code(a: _Group, b: _Group, df: dict[tuple[str, str], int]) -> tuple[float, str]:
    left = {sha: v for sha, v in a.files.items() if _rare("file", sha, df)}
    right = {sha: v for sha, v in b.files.items() if _rare("file", sha, df)}
    if not left or not right:
        return 0.0, ""
    matches: list[tuple[float, str, str, bool]] = []
    total = 0.0
    for sha, (path, minhash) in left.items():
        best, other, same = 0.0, "", False
        for sha_b, (path_b, minhash_b) in right.items():
            alike = 1.0 if sha == sha_b else _alike(minhash, minhash_b)
            if alike > best or (alike == best and sha == sha_b):
                best, other, same = alike, path_b, sha == sha_b
        total += best
        if best >= ALIKE:
            matches.append((best, path, other, same))
    strength = total / max(len(left), len(right))
    if not matches:
        return strength, ""
    matches.sort(key=lambda m: (-m[0], m[1]))
    named = [f"{p} ~ {q} ({_alike_words(s, same)})" for s, p, q, same in matches]
    return strength, f"{len(matches)} of {max(len(left), len(right))} code files alike: {_listed(named)}"


def _alike_words(alike: float, same: bool) -> str:
    if same:
        return "the same bytes"
    if alike == 1.0:
        return "the same code once names, literals and comments are set aside"
    return f"about {round(alike * 100)}% alike"


def _alike(x: tuple[int, ...], y: tuple[int, ...]) -> float:
    return sum(1 for i, j in zip(x, y, strict=True) if i == j) / SIGNATURE_LENGTH


def _short(key: str) -> str:
    kind, _, value = key.partition(":")
    return f"{kind}:{value[:12]}"


def _score(a: _Group, b: _Group, df: dict[tuple[str, str], int], by: GroupBy) -> DuplicatePair | None:
    signals: dict[EvidenceKind, tuple[float, str]] = {
        "datasets": _datasets(a, b, df, by),
        "pipeline": _pipeline(a, b, df),
        "code": _code(a, b, df),
        "labels": _labels(a, b),
    }
    strong = sum(1 for kind in ("datasets", "pipeline", "code") if signals[kind][0] >= STRONG)
    if strong < 2:
        return None
    evidence = tuple(
        Evidence(kind, round(WEIGHTS[kind] * strength, 3), detail)
        for kind, (strength, detail) in sorted(signals.items(), key=lambda kv: -WEIGHTS[kv[0]] * kv[1][0])
        if detail
    )
    score = round(min(1.0, sum(WEIGHTS[kind] * strength for kind, (strength, _) in signals.items())), 3)
    return DuplicatePair(
        a=a.name,
        b=b.name,
        score=score,
        evidence=evidence,
        a_owners=tuple(sorted(a.owners)),
        b_owners=tuple(sorted(b.owners)),
        a_projects=tuple(sorted(a.projects)),
        b_projects=tuple(sorted(b.projects)),
    )
