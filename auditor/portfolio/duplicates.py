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
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
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
SAME_SCRIPT = 0.8  # estimated Jaccard from which two steps' scripts are taken for the same code
LISTED = 4  # items named per evidence line

_PATH = re.compile(r"[^\s=]*(?:[/\\][^\s=]*|\.[a-z][a-z0-9]{0,4}\b)")
_CODE = (".py", ".r", ".sql", ".sh", ".ipynb", ".jl", ".scala")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WORD = re.compile(r"[^a-z0-9]+")


DF = dict[tuple[str, str], int]  # (kind, key) -> groups holding it (document frequency)


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
    scripts: dict[str, str] = field(default_factory=dict)  # normalised command -> sha256 of the code it runs
    labels: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)
    files: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)  # sha256 -> (path, minhash)
    runs: int = 0
    reads: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, key) -> runs that hold it

    def share(self, kind: str, key: str) -> float:
        """The fraction of the group's runs that hold the key: a version read once weighs less than one
        read by every run."""
        return self.reads[(kind, key)] / self.runs


@lru_cache(maxsize=1 << 16)  # runs of one project repeat the same steps
def normalise_command(command: str) -> str:
    """A step's command, lower case: a program's path cut to its file name, other paths (data, outputs)
    as 'PATH', numbers as '#', whitespace folded."""
    return " ".join(_NUMBER.sub("#", _PATH.sub(_path, command.lower())).split())


def _path(match: re.Match[str]) -> str:
    name = re.split(r"[/\\]", match.group().rstrip("/\\"))[-1]
    return name if name.endswith(_CODE) else "PATH"


@lru_cache(maxsize=1 << 16)
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
        group.runs += 1
        held: set[tuple[str, str]] = set()
        for d in s.datasets:
            if d.role == "input" and (d.before or d.after):
                key = d.before or d.after or ""
                group.inputs.setdefault(key, d.path or d.uri or d.id)
                held.add(("input", key))
        run_code = {c.path: c.sha256 for c in s.code if len(c.minhash) == SIGNATURE_LENGTH}
        for step in s.steps:
            if step.command.strip():
                command = normalise_command(step.command)
                group.steps.setdefault(command, f"{step.name} ({step.command})")
                held.add(("step", command))
                script = _script(step.command, run_code)
                if script is not None:
                    group.scripts.setdefault(command, script)
        if s.label and s.sensitive:
            group.labels.add((s.label, s.sensitive))
        for code in s.code:
            if len(code.minhash) == SIGNATURE_LENGTH:
                group.files.setdefault(code.sha256, (code.path, code.minhash))
                held.add(("file", code.sha256))
        group.reads.update(held)
    return groups


def _script(command: str, code: dict[str, str]) -> str | None:
    """The sha256 of the captured code file a step's command runs, when one of its words names it."""
    for word in command.split():
        word = word.strip("'\"").removeprefix("./")
        for path, sha in code.items():
            if word and (word == path or word.endswith("/" + path) or path.endswith("/" + word)):
                return sha
    return None


def _keys(group: _Group) -> dict[str, Iterable[str]]:
    return {
        "input": group.inputs,
        "step": group.steps,
        "file": group.files,
    }


def _document_frequency(groups: Iterable[_Group]) -> DF:
    df: DF = defaultdict(int)
    for group in groups:
        for kind, keys in _keys(group).items():
            for key in set(keys):
                df[(kind, key)] += 1
    return df


def _candidates(groups: dict[str, _Group], df: DF) -> set[tuple[str, str]]:
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


def _rare(kind: str, key: str, df: DF) -> bool:
    return df[(kind, key)] < REFERENCE_AT


def _jaccard(kind: str, a: _Group, b: _Group, keys_a: Iterable[str], keys_b: Iterable[str], df: DF) -> float:
    """Weighted Jaccard over the keys both groups could share (not reference material), each key
    weighted by the share of each group's runs holding it."""
    keys = {k for k in (*keys_a, *keys_b) if _rare(kind, k, df)}
    most = sum(max(a.share(kind, k), b.share(kind, k)) for k in keys)
    return sum(min(a.share(kind, k), b.share(kind, k)) for k in keys) / most if most else 0.0


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(one_line(i, 160, middle=True) for i in items[:LISTED])
    return shown + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


def _datasets(a: _Group, b: _Group, df: DF, by: str) -> tuple[float, str]:
    shared = sorted(set(a.inputs) & set(b.inputs))
    rare = [k for k in shared if _rare("input", k, df)]
    reference = [k for k in shared if not _rare("input", k, df)]
    strength = _jaccard("input", a, b, a.inputs, b.inputs, df)
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


def _pipeline(a: _Group, b: _Group, df: DF) -> tuple[float, str]:
    """Steps that run the same command (not one REFERENCE_AT or more groups run), or whose scripts are
    the same code (SAME_SCRIPT alike or more, by fingerprint), over both sides' steps, each weighted by
    the share of runs that ran it. Common commands whose scripts match nothing are left out of both."""
    same: list[str] = []
    matched_a: set[str] = set()
    matched_b: set[str] = set()
    for command in sorted(set(a.steps) & set(b.steps)):
        if _rare("step", command, df):
            matched_a.add(command)
            matched_b.add(command)
            same.append(f"{a.steps[command]} (the same command)")
    for command, sha in sorted(a.scripts.items()):
        if command in matched_a or not _rare("file", sha, df):
            continue
        for other, sha_b in sorted(b.scripts.items()):
            if other in matched_b or not _rare("file", sha_b, df):
                continue
            alike = 1.0 if sha == sha_b else _alike(a.files[sha][1], b.files[sha_b][1])
            if alike >= SAME_SCRIPT:
                matched_a.add(command)
                matched_b.add(other)
                same.append(f"{a.steps[command]} ~ {b.steps[other]} (its script: {_alike_words(alike, sha == sha_b)})")
                break
    universe_a = [k for k in a.steps if k in matched_a or k in a.scripts or _rare("step", k, df)]
    universe_b = [k for k in b.steps if k in matched_b or k in b.scripts or _rare("step", k, df)]
    weights = sum(a.share("step", k) for k in universe_a) + sum(b.share("step", k) for k in universe_b)
    found = sum(a.share("step", k) for k in matched_a) + sum(b.share("step", k) for k in matched_b)
    strength = found / weights if weights else 0.0
    if not same:
        return strength, ""
    total = max(len(universe_a), len(universe_b))
    return strength, f"{len(same)} of {total} steps alike: {_listed(same)}"


def _labels(a: _Group, b: _Group) -> tuple[float, str]:
    same = sorted(a.labels & b.labels)
    if not same:
        return 0.0, ""
    label, sensitive = same[0]
    attributes = ", ".join(one_line(s, 40) for s in sensitive)
    return 1.0, f"the same label column {one_line(label, 60)} and sensitive attributes {attributes}"


def _code(a: _Group, b: _Group, df: DF) -> tuple[float, str]:
    """Each file's best match on the other side (1 for the same bytes, else the estimated Jaccard of
    their shingles), averaged over both sides' files weighted by the share of runs that ran them."""
    left = {sha: v for sha, v in a.files.items() if _rare("file", sha, df)}
    right = {sha: v for sha, v in b.files.items() if _rare("file", sha, df)}
    if not left or not right:
        return 0.0, ""
    matches: list[tuple[float, str, str, bool]] = []
    best_b = dict.fromkeys(right, 0.0)
    total = weights = 0.0
    for sha, (path, minhash) in left.items():
        best, other, same = 0.0, "", False
        for sha_b, (path_b, minhash_b) in right.items():
            alike = 1.0 if sha == sha_b else _alike(minhash, minhash_b)
            best_b[sha_b] = max(best_b[sha_b], alike)
            if alike > best or (alike == best and sha == sha_b):
                best, other, same = alike, path_b, sha == sha_b
        total += a.share("file", sha) * best
        weights += a.share("file", sha)
        if best >= ALIKE:
            matches.append((best, path, other, same))
    total += sum(b.share("file", sha) * best for sha, best in best_b.items())
    weights += sum(b.share("file", sha) for sha in right)
    strength = total / weights
    if not matches:
        return strength, ""
    matches.sort(key=lambda m: (-m[0], m[1]))
    named = [f"{p} ~ {q} ({_alike_words(s, same)})" for s, p, q, same in matches]
    return strength, f"{len(matches)} of {max(len(left), len(right))} code files alike: {_listed(named)}"


def _alike_words(alike: float, same: bool) -> str:
    if same:
        return "the same bytes"
    if alike == 1.0:
        return "the same code apart from names and literals"
    return f"about {round(alike * 100)}% alike by fingerprint"


def _alike(x: tuple[int, ...], y: tuple[int, ...]) -> float:
    return sum(1 for i, j in zip(x, y, strict=True) if i == j) / SIGNATURE_LENGTH


def _short(key: str) -> str:
    kind, _, value = key.partition(":")
    return f"{kind}:{value[:12]}"


def _score(a: _Group, b: _Group, df: DF, by: GroupBy) -> DuplicatePair | None:
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
