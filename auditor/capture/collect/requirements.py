"""The environment a project *declares* (pip requirements files), beside the one it ran in.

Pinning rules compare the two: every installed distribution should match an `==`
pin, with hashes where the file has them. The parser follows pip's file format
(continuation lines, comments, `-r` includes, `-e`, `--hash`, per-line options);
what it cannot read is listed as a problem, never silently dropped. Requirement URLs often carry
an access token (`git+https://TOKEN@github.com/...`, `?token=`): every URL kept, and every line
quoted in a problem, is scrubbed first.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from auditor.capture.redact import clean_url, mask
from auditor.files import InputFileError, exists, read_input
from auditor.record.base import Missing
from auditor.record.models import DeclaredRequirements, Pin, RequirementsFile

DEFAULT_FILES = ("requirements.txt",)
MAX_REQUIREMENTS_BYTES = 8 << 20  # a pip-compile output with hashes for 1,000 packages is about 1 MB
MAX_INCLUDE_DEPTH = 10
_COMMENT = re.compile(r"(^|\s)#.*$")
_HASH = re.compile(r"--hash[=\s]+(\S+)")
_NAMED_URL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*@\s*\S+://")  # name @ URL (PEP 508)


def collect_requirements(root: Path, declared: tuple[str, ...] = ()) -> DeclaredRequirements | Missing:
    """Parse the files auditor.yaml names, or requirements.txt at the project root."""
    names = declared or tuple(n for n in DEFAULT_FILES if exists(root / n))  # a FIFO there is a problem noted
    if not names:
        return Missing(reason="no requirements file declared in auditor.yaml or found at the project root")
    files: list[RequirementsFile] = []
    for name in names:
        _parse(root, root / name, files, depth=0)
    return DeclaredRequirements(files=tuple(files))


def _parse(root: Path, path: Path, out: list[RequirementsFile], depth: int) -> None:
    shown = _display(root, path)
    if any(f.path == shown for f in out):
        return  # included twice: once is enough
    try:  # a FIFO or a device named here (or by an -r include) would hang the run or fill memory
        raw = read_input(path, "a requirements file", MAX_REQUIREMENTS_BYTES)
    except InputFileError as exc:
        out.append(RequirementsFile(path=shown, sha256=None, pins=(), problems=(exc.problem,)))
        return
    pins: list[Pin] = []
    problems: list[str] = []
    includes: list[Path] = []
    for number, line in _logical_lines(raw.decode("utf-8", "replace")):
        _parse_line(line, number, path, pins, problems, includes)
    out.append(
        RequirementsFile(path=shown, sha256=hashlib.sha256(raw).hexdigest(), pins=tuple(pins), problems=tuple(problems))
    )
    for include in includes:
        if depth >= MAX_INCLUDE_DEPTH:
            problems.append(f"includes nested deeper than {MAX_INCLUDE_DEPTH}: {include.name} not read")
            continue
        _parse(root, include, out, depth + 1)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with comments removed and backslash continuations joined, numbered as in the file."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", line).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined = (pending + line).strip()
        pending = ""
        if joined:
            out.append((start, joined))
    if pending.strip():
        out.append((start, pending.strip()))
    return out


def _parse_line(line: str, number: int, path: Path, pins: list[Pin], problems: list[str], includes: list[Path]) -> None:
    if line.startswith(("-r ", "--requirement ", "-r", "--requirement=")) and not line.startswith("-r-"):
        target = re.sub(r"^(-r|--requirement)[=\s]*", "", line).strip()
        includes.append(path.parent / target)
        return
    editable = line.startswith(("-e ", "--editable ", "--editable="))
    if editable:
        line = re.sub(r"^(-e|--editable)[=\s]*", "", line)
    elif line.startswith("-"):
        return  # global options (index URLs, constraints, find-links): not pins
    hashes = tuple(_HASH.findall(line))
    spec = _HASH.sub("", line).split(" --")[0].strip()
    if editable or ("://" in spec.split(";")[0] and not _NAMED_URL.match(spec)):
        url = clean_url(spec)
        pins.append(
            Pin(name=_name_of(url), specifier="", version=None, hashes=hashes, url=url, editable=editable, line=number)
        )
        return
    # here: packaging's parser costs ~30 ms to import, and a project without requirements never needs it
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(spec)
    except InvalidRequirement as exc:
        problems.append(mask(f"line {number}: cannot parse {clean_url(spec)[:80]!r}: {exc}")[0])
        return
    exact = [s.version for s in requirement.specifier if s.operator in ("==", "===") and "*" not in s.version]
    pins.append(
        Pin(
            name=requirement.name,
            specifier=str(requirement.specifier),
            version=exact[0] if len(exact) == 1 else None,
            hashes=hashes,
            marker=str(requirement.marker) if requirement.marker else None,
            url=clean_url(requirement.url) if requirement.url else None,
            editable=False,
            line=number,
        )
    )


def _name_of(url: str) -> str:
    egg = re.search(r"#egg=([A-Za-z0-9_.-]+)", url)
    return egg.group(1) if egg else url.split("#")[0].split("?")[0].rstrip("/").rsplit("/", 1)[-1]


def _display(root: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except (ValueError, OSError, RuntimeError):
        return str(path)
