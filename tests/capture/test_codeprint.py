"""Code fingerprints (auditor/capture/codeprint.py): what the MinHash estimates, what the
normalisation forgives (names, comments, literals, layout) and what it does not (structure)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.capture import codeprint
from auditor.capture.codeprint import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MIN_TOKENS,
    PERMUTATIONS,
    SCHEME,
    SHINGLE,
    fingerprint,
    fingerprint_files,
    minhash,
    notebook_tokens,
    other_tokens,
    python_tokens,
    similarity,
)
from auditor.record.code import Code, CodeFile
from tests.conftest import REPO, SAMPLE

ORIGINAL = '''\
"""Train a credit model."""

import csv
import json

THRESHOLD = 0.5  # approve above this


def load(path):
    # read every row of the file
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def score(row, weights):
    total = weights["bias"]
    for name in ("income", "debt", "age"):
        total += weights[name] * float(row[name])
    return total


rows = load("data/train.csv")
weights = {"bias": 0.1, "income": 0.002, "debt": -0.004, "age": 0.01}
approved = [row for row in rows if score(row, weights) >= THRESHOLD]
with open("outputs/approved.json", "w") as out:
    json.dump({"approved": len(approved), "total": len(rows)}, out)
print(f"approved {len(approved)} of {len(rows)}")
'''
# The same program copied under other names, other comments, other literals and another layout.
RENAMED = """\
# copied from the credit team's repository, cleaned up
import csv
import json

CUTOFF = 0.7


def read_table(filename):
    with open(filename, newline="") as f:  # utf-8 file
        return list(csv.DictReader(f))


def compute(rec, coef):
    acc = coef["intercept"]
    for col in ("salary", "liabilities", "years"):
        acc += coef[col] * float(rec[col])
    return acc


records = read_table("input/loans.csv")
coef = {"intercept": 0.3, "salary": 0.001, "liabilities": -0.002, "years": 0.02}


accepted = [rec for rec in records if compute(rec, coef) >= CUTOFF]
with open("results/accepted.json", "w") as sink:
    json.dump({"accepted": len(accepted), "n": len(records)}, sink)
print(f"accepted {len(accepted)} out of {len(records)}")
"""


def shingles(tokens: list[str]) -> set[str]:
    return {"\x1f".join(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}


def exact_jaccard(a: bytes, b: bytes) -> float:
    first, second = shingles(python_tokens(a)), shingles(python_tokens(b))
    return len(first & second) / len(first | second)


def entry(path: str, data: bytes) -> CodeFile:
    made = fingerprint(path, data)
    assert isinstance(made, CodeFile), made
    return made


def test_renamed_variables_and_other_comments_still_match() -> None:
    original, renamed = entry("a.py", ORIGINAL.encode()), entry("b.py", RENAMED.encode())
    assert original.sha256 != renamed.sha256  # other bytes ...
    assert len(original.minhash) == PERMUTATIONS and all(0 <= v < 2**32 for v in original.minhash)
    estimated = similarity(original.minhash, renamed.minhash)
    assert estimated is not None and estimated > 0.8  # ... the same code
    assert exact_jaccard(ORIGINAL.encode(), RENAMED.encode()) > 0.8
    assert similarity(original.minhash, entry("c.py", ORIGINAL.encode()).minhash) == 1.0


def test_unrelated_code_does_not_match() -> None:
    sample = entry("train.py", (SAMPLE / "src" / "train.py").read_bytes())
    for other in (REPO / "auditor" / "files.py", REPO / "auditor" / "capture" / "hashing.py"):
        estimated = similarity(sample.minhash, entry(other.name, other.read_bytes()).minhash)
        assert estimated is not None and estimated < 0.2, other
    assert similarity(sample.minhash, entry("x.py", ORIGINAL.encode()).minhash) < 0.2  # type: ignore[operator]


def test_the_estimate_follows_the_exact_jaccard_similarity() -> None:
    """MinHash's estimate against the shingle sets' real Jaccard similarity, on real files whose
    similarity lies in between (64 permutations: a standard error of about 0.06)."""
    files = [SAMPLE / "src" / f"{name}.py" for name in ("fetch_data", "prepare", "train")] + [
        SAMPLE / "run_pipeline.py"
    ]
    pairs = [(a, b) for i, a in enumerate(files) for b in files[i + 1 :]]
    errors = []
    for a, b in pairs:
        estimated = similarity(entry("a.py", a.read_bytes()).minhash, entry("b.py", b.read_bytes()).minhash)
        assert estimated is not None
        errors.append(abs(estimated - exact_jaccard(a.read_bytes(), b.read_bytes())))
    assert max(errors) < 0.15 and sum(errors) / len(errors) < 0.07, errors
    half = ORIGINAL.encode() + b"\n" + (SAMPLE / "src" / "prepare.py").read_bytes()  # half shared
    estimated = similarity(entry("h.py", half).minhash, entry("o.py", ORIGINAL.encode()).minhash)
    assert abs(estimated - exact_jaccard(half, ORIGINAL.encode())) < 0.15  # type: ignore[operator]


def test_structure_matters_and_names_of_libraries_are_kept() -> None:
    assert python_tokens(b"x = foo(y)  # c\n") == ["<ID>", "=", "<ID>", "(", "<ID>", ")", "<NL>"]
    assert python_tokens(b"import numpy as np\nz = np.mean(len(q))\n") == [
        *("import", "numpy", "as", "np", "<NL>"),
        *("<ID>", "=", "np", ".", "mean", "(", "len", "(", "<ID>", ")", ")", "<NL>"),
    ]
    assert python_tokens(b"s = f'{a!r:>{w}} {b}' + 'x' 'y'\nn = 0x1F + 2.5e3\n") == [
        *("<ID>", "=", "<STR>", "+", "<STR>", "<STR>", "<NL>"),
        *("<ID>", "=", "<NUM>", "+", "<NUM>", "<NL>"),
    ]
    indented = python_tokens(b"if a:\n\n    # note\n    b()\n")
    assert indented == ["if", "<ID>", ":", "<NL>", "<IN>", "<ID>", "(", ")", "<NL>", "<DE>"]
    broken = python_tokens(b'def f(:\n    return "unterminated\n')  # tokenize refuses it: regex tokens
    assert broken[:4] == ["def", "<ID>", "(", ":"] and "<STR>" not in broken


def test_notebooks_sql_r_and_shell() -> None:
    cells = [
        {"cell_type": "markdown", "source": ["# A heading that is not code\n"]},
        {"cell_type": "code", "source": ["%matplotlib inline\n", "!pip install x\n", *ORIGINAL.splitlines(True)]},
        {"cell_type": "raw", "source": "x = 1"},
    ]
    notebook = json.dumps({"cells": cells, "nbformat": 4}).encode()
    assert notebook_tokens(notebook) == python_tokens(ORIGINAL.encode())
    assert similarity(entry("n.ipynb", notebook).minhash, entry("r.py", RENAMED.encode()).minhash) > 0.8  # type: ignore[operator]
    assert isinstance(fingerprint("bad.ipynb", b"{not json"), str)

    sql = b"-- monthly totals\nSELECT region, SUM(amount) FROM sales /* all */ WHERE year = 2024 GROUP BY region;\n"
    renamed_sql = b"select area, sum(total) from orders where yr = 1999 group by area; -- other\n"
    assert other_tokens(sql.decode(), "sql") == other_tokens(renamed_sql.decode(), "sql")
    assert other_tokens(sql.decode(), "sql")[:4] == ["select", "<ID>", ",", "sum"]
    r_code = "model <- glm(y ~ x, data = df)  # fit\nprint('done')\n"
    r_tokens = ["<ID>", "<-", "glm", "(", "<ID>", "~", "<ID>", ",", "<ID>", "=", "<ID>", ")", "<ID>", "(", "<STR>", ")"]
    assert other_tokens(r_code, "r") == r_tokens
    shell = '#!/bin/sh\n# train\nfor f in data/*.csv; do python train.py "$f"; done\n'
    assert other_tokens(shell, "shell")[:3] == ["for", "<ID>", "in"] and "<STR>" in other_tokens(shell, "shell")
    languages = {path: entry(path, sql * 3).language for path in ("q.sql", "fit.R", "fit.r", "run.sh", "x.bash")}
    assert languages == {"q.sql": "sql", "fit.R": "r", "fit.r": "r", "run.sh": "shell", "x.bash": "shell"}


def test_short_files_have_no_signature_and_unknown_suffixes_are_not_code() -> None:
    short = entry("tiny.py", b"print('hi')\n")
    assert short.tokens < MIN_TOKENS and short.minhash == ()
    assert similarity(short.minhash, short.minhash) is None
    assert minhash(["<ID>"] * MIN_TOKENS) != ()  # long enough, however dull
    assert isinstance(fingerprint("data.csv", b"a,b\n"), str)


def test_the_same_in_every_process() -> None:
    """Signatures are stable across processes (no hash randomisation, no set order) and pinned:
    a change to the scheme must change its name (SCHEME) too."""
    mine = entry("a.py", ORIGINAL.encode()).minhash
    code = (
        "import sys; from auditor.capture.codeprint import fingerprint; "
        "print(list(fingerprint('a.py', sys.stdin.buffer.read()).minhash))"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], input=ORIGINAL.encode(), capture_output=True, env=env, check=True
        )
        assert tuple(json.loads(done.stdout)) == mine
    assert SCHEME == "minhash-64/shingle-5/v1"
    assert mine[:4] == PINNED and hashlib.sha256(json.dumps(mine).encode()).hexdigest()[:16] == PINNED_ALL


PINNED = (47025028, 6000644, 54745508, 29820172)  # the first values of ORIGINAL's signature, scheme v1
PINNED_ALL = "a4603328f9f79fce"  # sha256 of all 64 as JSON, first 16 hex


def test_bounds_links_and_unreadable_files_are_named(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "ok.py").write_text(ORIGINAL)
    (project / "src" / "big.py").write_bytes(b"x = 1\n" * (MAX_FILE_BYTES // 6 + 1))
    outside = tmp_path / "secret.py"
    outside.write_text(RENAMED)
    (project / "src" / "link.py").symlink_to(outside)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "deep.py").write_text(RENAMED)
    (project / "lib").symlink_to(tmp_path / "elsewhere")  # a linked folder leading out of the project
    code = fingerprint_files(project, ["src/ok.py", "src/big.py", "src/link.py", "lib/deep.py", "src/gone.py"], "m")
    assert isinstance(code, Code) and code.fingerprint == SCHEME and code.method == "m"
    assert [f.path for f in code.files] == ["src/ok.py"]
    assert code.files[0].sha256 == hashlib.sha256(ORIGINAL.encode()).hexdigest()
    notes = "\n".join(code.notes)
    assert "src/big.py: larger than 2 MiB" in notes
    assert "src/link.py: its real path leaves the project" in notes
    assert "lib/deep.py: its real path leaves the project" in notes
    assert "src/gone.py: no such file" in notes
    assert RENAMED[:20] not in notes

    many = [f"m/f{i:04}.py" for i in range(MAX_FILES + 3)]
    (project / "m").mkdir()
    for name in many:
        (project / name).write_text("print(1)\n")
    capped = fingerprint_files(project, many, "m")
    assert len(capped.files) == MAX_FILES and capped.notes == (
        f"3 further code files not fingerprinted (at most {MAX_FILES})",
    )


@pytest.mark.parametrize("size", [MIN_TOKENS, 20_000])
def test_signature_of_many_shingles_is_the_minimum_over_blocks(size: int) -> None:
    """The vectorised blocks give the same minimum as one pass in plain Python."""
    from auditor.capture.codeprint import _permutations

    tokens = [f"t{i % 97}" if i % 3 else "<ID>" for i in range(size + SHINGLE)]
    a, b = _permutations()
    values = {
        int.from_bytes(hashlib.blake2b("\x1f".join(tokens[i : i + SHINGLE]).encode(), digest_size=8).digest(), "little")
        for i in range(len(tokens) - SHINGLE + 1)
    }
    expected = tuple(
        min(((int(a[k, 0]) * v + int(b[k, 0])) % 2**64) >> 32 for v in values) for k in range(PERMUTATIONS)
    )
    assert minhash(tokens) == expected


@pytest.mark.parametrize("count", [1, 64, 1024, 1025, 5000])
def test_plain_and_numpy_signatures_agree(count: int) -> None:
    """Small files are signed with Python integers (no numpy import), big ones with numpy: the same values,
    whichever side of PLAIN_SHINGLES a file falls."""
    from auditor.capture.codeprint import PLAIN_SHINGLES, numpy_signature, plain_signature

    digests = (hashlib.blake2b(str(i).encode(), digest_size=8).digest() for i in range(count))
    shingles = {int.from_bytes(digest, "little") for digest in digests}
    shingles |= {0, 2**64 - 1}  # the ends of the range
    assert plain_signature(shingles) == numpy_signature(shingles)
    assert 1024 <= PLAIN_SHINGLES <= 4096


def test_reads_passed_over_by_their_last_letter_are_never_code(tmp_path: Path) -> None:
    """executed_code skips a read by its last letter only where _source_of would find no code in it."""
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "mod.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"")
    suffixes = [
        *codeprint.LANGUAGES,
        ".pyc",
        ".PY",
        ".Sh",
        ".IPYNB",
        ".bin",
        ".csv",
        ".npy",
        ".json",
        ".pyC",
        ".\u212a",
    ]
    paths = [f"{tmp_path}/a{suffix}{tail}" for suffix in suffixes for tail in ("", "/", "//")]
    paths += [f"{tmp_path}/pkg/__pycache__/mod.cpython-311.pyc", f"{tmp_path}/py", f"{tmp_path}/.py", "/"]
    kept = [path for path in paths if codeprint._source_of(path) is not None]
    assert len(kept) > len(codeprint.LANGUAGES)
    assert all(path[-1:].lower() in codeprint._MAYBE_CODE for path in kept)
