"""Code fingerprints: each code file's SHA-256, and a MinHash of its normalised token shingles.

The hash proves which bytes ran; the fingerprint lets duplicate-work detection see that two
files are the same code under other names. Scheme "minhash-64/shingle-5/v1":

1. Tokens. Python with the standard library's `tokenize`: a name that is not a keyword or a
   builtin becomes `<ID>`, every string (f-strings whole) `<STR>`, every number `<NUM>`; comments
   and blank lines are dropped; NEWLINE, INDENT and DEDENT stay as `<NL>`, `<IN>`, `<DE>` (the
   structure); operators and keywords stay as written. The keyword and builtin lists are fixed
   here (Python 3.11's), so every Python version tokenises alike. Notebooks (.ipynb): the code
   cells' source, each cell tokenised on its own (IPython magics and shell lines dropped). SQL, R
   and shell: a small regular-expression tokeniser (comments dropped, strings, numbers and names
   that are not the language's keywords replaced by their kind, SQL case-folded). Python that
   `tokenize` refuses falls back to that tokeniser.
2. Shingles: every run of 5 consecutive tokens, joined with U+001F, hashed once with BLAKE2b
   (8-byte digest, read as a little-endian unsigned 64-bit integer); duplicates count once.
3. MinHash: 64 hash functions h_i(x) = ((a_i * x + b_i) mod 2^64) >> 32 (multiply-add-shift, a
   universal family; a_i odd), each taking the minimum over the shingles: 64 values of 32 bits.
   a_i and b_i are the first and second 8 bytes (little-endian) of BLAKE2b-16 of
   "auditor-minhash-v1:<i>", a_i with its lowest bit set. Two signatures agree in a position
   with probability equal to the Jaccard similarity of the shingle sets (`similarity`).
A file with fewer than MIN_TOKENS tokens has an empty signature: a few tokens say nothing.

Bounded: at most MAX_FILES files and MAX_FILE_BYTES per file; the notes name what was skipped.
Files are read without following a final link and only when their real path stays inside the
project (a link out of it is refused, named in the notes).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import tokenize
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.files import UntrustedFileError, read_regular_file, size_text, within
from auditor.record.base import Missing
from auditor.record.code import Code, CodeFile, CodeLanguage

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

SCHEME = "minhash-64/shingle-5/v1"
PERMUTATIONS = 64
SHINGLE = 5
MIN_TOKENS = 20
MAX_FILES = 500
MAX_FILE_BYTES = 2 * 1024 * 1024
_CHUNK = 8192  # shingles per numpy block: 64 x 8192 x 8 bytes = 4 MiB at a time
# Up to this many shingles the signature is computed with Python integers (the same values): a
# script's few hundred take a few milliseconds, less than importing numpy (over 0.1 s of a run).
PLAIN_SHINGLES = 1024

LANGUAGES: dict[str, CodeLanguage] = {
    ".py": "python",
    ".ipynb": "notebook",
    ".sql": "sql",
    ".r": "r",
    ".sh": "shell",
    ".bash": "shell",
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Python 3.11's keywords and builtins (and self, cls, the common exceptions), fixed here so that the
# tokens do not depend on the interpreter that reads them.
PY_KEYWORDS = _words(
    "False None True and as assert async await break class continue def del elif else except finally for "
    "from global if import in is lambda nonlocal not or pass raise return try while with yield"
)
PY_BUILTINS = _words(
    "abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr classmethod compile complex "
    "delattr dict dir divmod enumerate eval exec filter float format frozenset getattr globals hasattr hash help "
    "hex id input int isinstance issubclass iter len list locals map max memoryview min next object oct open ord "
    "pow print property range repr reversed round set setattr slice sorted staticmethod str sum super tuple type "
    "vars zip __import__ __name__ __file__ self cls Exception BaseException ValueError TypeError KeyError "
    "IndexError RuntimeError OSError StopIteration NotImplementedError AttributeError ImportError"
)
OTHER_KEYWORDS: dict[CodeLanguage, frozenset[str]] = {
    "sql": _words(
        "select from where join inner left right outer full cross on and or not in is null as group by order "
        "having limit offset union all distinct insert into values update set delete create table view with "
        "case when then else end between like exists count sum avg min max cast over partition desc asc"
    ),
    "r": _words(
        "function if else for while repeat in next break return library require TRUE FALSE NULL NA Inf NaN "
        "c list data.frame lm glm predict summary"
    ),
    "shell": _words(
        "if then else elif fi for in do done while until case esac function return export local set echo exit cd source"
    ),
}
_OTHER_TOKEN = re.compile(
    r"""(?P<str>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")|(?P<num>\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)"""
    r"""|(?P<word>[A-Za-z_.][A-Za-z0-9_.]*)|(?P<op>[<>!=:|&+\-*/%^~$@]+|[^\sA-Za-z0-9_])"""
)
_COMMENTS = {
    "sql": re.compile(r"--[^\n]*|/\*.*?\*/", re.S),
    "r": re.compile(r"#[^\n]*"),
    "shell": re.compile(r"(?m)(?:^|(?<=\s))#[^\n]*"),
    "python": re.compile(r"#[^\n]*"),
}


@functools.cache
def _coefficients() -> tuple[tuple[int, int], ...]:
    """(a, b) of the 64 hash functions."""
    out = []
    for i in range(PERMUTATIONS):
        digest = hashlib.blake2b(f"auditor-minhash-v1:{i}".encode(), digest_size=16).digest()
        out.append((int.from_bytes(digest[:8], "little") | 1, int.from_bytes(digest[8:], "little")))
    return tuple(out)


@functools.cache
def _permutations() -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """(a, b) of the 64 hash functions, as columns (made on first use: numpy only when there is work)."""
    import numpy as np

    a, b = zip(*_coefficients(), strict=True)
    return np.array(a, dtype=np.uint64)[:, None], np.array(b, dtype=np.uint64)[:, None]


def language_of(path: str) -> CodeLanguage | None:
    """The language a file's suffix names, None for a file that is not code auditor fingerprints."""
    name = path.rstrip("/").rpartition("/")[2]  # PurePosixPath(path).suffix, without building a path:
    dot = name.rfind(".")  # this runs for every file a command reads
    return LANGUAGES.get(name[dot:].lower()) if 0 < dot < len(name) - 1 else None


def python_tokens(source: bytes) -> list[str]:
    """Normalised tokens of Python source; a file tokenize refuses goes through the regex tokeniser."""
    try:
        raw = list(tokenize.tokenize(io.BytesIO(source).readline))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, ValueError):
        return other_tokens(source.decode("utf-8", "replace"), "python")
    kept = PY_KEYWORDS | PY_BUILTINS | _imported(raw)
    out: list[str] = []
    depth = 0  # inside an f-string (Python 3.12+ splits them into parts): one <STR> for the whole
    previous = ""
    for tok in raw:
        kind = tokenize.tok_name.get(tok.type, "")
        if kind == "FSTRING_START":
            if depth == 0:
                out.append("<STR>")
            depth += 1
        elif kind == "FSTRING_END":
            depth -= 1
        elif depth:
            continue
        elif tok.type == tokenize.NAME:
            out.append(tok.string if tok.string in kept or previous == "." else "<ID>")
        elif tok.type == tokenize.STRING:
            out.append("<STR>")
        elif tok.type == tokenize.NUMBER:
            out.append("<NUM>")
        elif tok.type == tokenize.NEWLINE:
            out.append("<NL>")
        elif tok.type == tokenize.INDENT:
            out.append("<IN>")
        elif tok.type == tokenize.DEDENT:
            out.append("<DE>")
        elif tok.type in (tokenize.OP, tokenize.ERRORTOKEN) and tok.string.strip():
            out.append(tok.string)
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            previous = tok.string
    return out


def _imported(raw: Sequence[tokenize.TokenInfo]) -> frozenset[str]:
    """Names an import statement binds or names (modules, imported functions): kept as written,
    since renaming a variable does not rename the libraries a file uses."""
    names: set[str] = set()
    inside = False
    for tok in raw:
        if tok.type == tokenize.NAME and tok.string in ("import", "from") and not inside:
            inside = True
        elif tok.type == tokenize.NEWLINE:
            inside = False
        elif inside and tok.type == tokenize.NAME and tok.string not in PY_KEYWORDS:
            names.add(tok.string)
    return frozenset(names)


def other_tokens(text: str, language: CodeLanguage) -> list[str]:
    """Tokens of SQL, R or shell (or Python tokenize refused) by regular expressions."""
    comments = _COMMENTS.get(language)
    if comments is not None:
        text = comments.sub(" ", text)
    fold = language == "sql"
    keywords = PY_KEYWORDS | PY_BUILTINS if language == "python" else OTHER_KEYWORDS.get(language, frozenset())
    out: list[str] = []
    for match in _OTHER_TOKEN.finditer(text):
        if match["str"] is not None:
            out.append("<STR>")
        elif match["num"] is not None:
            out.append("<NUM>")
        elif match["word"] is not None:
            word = match["word"].lower() if fold else match["word"]
            out.append(word if word in keywords else "<ID>")
        else:
            out.append(match["op"])
    return out


def notebook_tokens(data: bytes) -> list[str] | str:
    """Tokens of a notebook's code cells, or why the file is not a notebook."""
    try:
        notebook = json.loads(data)
    except (ValueError, RecursionError):
        return "not valid JSON"
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        return "no 'cells' list: not a notebook"
    out: list[str] = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else str(source)
        lines = [line for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))]
        out.extend(python_tokens(("\n".join(lines) + "\n").encode("utf-8", "replace")))
    return out


def tokens_of(data: bytes, language: CodeLanguage) -> list[str] | str:
    """The normalised tokens of a code file's bytes, or why it has none."""
    if language == "python":
        return python_tokens(data)
    if language == "notebook":
        return notebook_tokens(data)
    return other_tokens(data.decode("utf-8", "replace"), language)


def minhash(tokens: Sequence[str]) -> tuple[int, ...]:
    """The signature of a token sequence; empty below MIN_TOKENS tokens."""
    if len(tokens) < max(MIN_TOKENS, SHINGLE):
        return ()
    shingles = {
        int.from_bytes(hashlib.blake2b("\x1f".join(tokens[i : i + SHINGLE]).encode(), digest_size=8).digest(), "little")
        for i in range(len(tokens) - SHINGLE + 1)
    }
    return plain_signature(shingles) if len(shingles) <= PLAIN_SHINGLES else numpy_signature(shingles)


def plain_signature(shingles: Iterable[int]) -> tuple[int, ...]:
    """The 64 minima with Python integers (step 3 of the scheme)."""
    values = tuple(shingles)
    mask = (1 << 64) - 1
    return tuple(min(((a * x + b) & mask) >> 32 for x in values) for a, b in _coefficients())


def numpy_signature(shingles: Iterable[int]) -> tuple[int, ...]:
    """The same 64 minima with numpy, in blocks: faster for big files."""
    import numpy as np

    values = np.array(sorted(shingles), dtype=np.uint64)
    a, b = _permutations()
    best = np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)
    for start in range(0, len(values), _CHUNK):
        block = values[None, start : start + _CHUNK]
        hashed = (a * block + b) >> np.uint64(32)  # uint64 arithmetic wraps: mod 2^64
        best = np.minimum(best, hashed.min(axis=1))
    return tuple(int(v) for v in best)


def similarity(first: Sequence[int], second: Sequence[int]) -> float | None:
    """The Jaccard similarity two signatures estimate; None when either is empty or they differ in scheme."""
    if not first or len(first) != len(second):
        return None
    return sum(x == y for x, y in zip(first, second, strict=True)) / len(first)


def fingerprint(path: str, data: bytes) -> CodeFile | str:
    """A code file's entry, or why it has none (`path` as the record names it)."""
    language = language_of(path)
    if language is None:
        return f"{path}: not a code file auditor fingerprints"
    tokens = tokens_of(data, language)
    if isinstance(tokens, str):
        return f"{path}: {tokens}"
    return CodeFile(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        language=language,
        tokens=len(tokens),
        minhash=minhash(tokens),
    )


def fingerprint_files(root: Path, paths: Iterable[str], method: str) -> Code:
    """The code section for files inside `root` (paths relative to it, '/'-separated), read safely:
    a file that is a link, not regular, too large, or whose real path leaves `root` is named in the
    notes instead."""
    wanted = sorted(set(paths))
    notes: list[str] = []
    if len(wanted) > MAX_FILES:
        notes.append(f"{len(wanted) - MAX_FILES} further code files not fingerprinted (at most {MAX_FILES})")
        wanted = wanted[:MAX_FILES]
    files: list[CodeFile] = []
    for relative in wanted:
        found = _read(root, relative)
        entry = fingerprint(relative, found) if isinstance(found, bytes) else f"{relative}: {found}"
        if isinstance(entry, str):
            notes.append(entry)
        else:
            files.append(entry)
    return Code(method=method, fingerprint=SCHEME, files=tuple(files), notes=tuple(notes))


def _read(root: Path, relative: str) -> bytes | str:
    path = root / relative
    try:
        if not within(path, [root]):
            return "its real path leaves the project: not read"
        return read_regular_file(path, MAX_FILE_BYTES)
    except UntrustedFileError as exc:
        if exc.why.startswith("larger than"):
            return f"larger than {size_text(MAX_FILE_BYTES)}: not fingerprinted"
        return exc.why
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    except ValueError:
        return "unusable path"


READ_BY_COMMAND = "read by the command"
NAMED_ON_COMMAND_LINE = "named on the command line"
_ENVIRONMENT_PARTS = frozenset({"site-packages", "dist-packages", "__pypackages__", "node_modules"})


def executed_code(
    root: Path,
    argv: Sequence[str],
    reads: Iterable[str] | None,
    *,
    exclude: Iterable[str] = (),
) -> Code | Missing:
    """The code section of an executed run: the code files named on its command line and the ones
    its Python processes read (`reads`: absolute paths, None when no process reported), inside the
    project `root`. Reads under `exclude` (the interpreters' prefixes, the store, auditor's own
    session) are the environment's, not the project's."""
    roots = {os.path.realpath(root), _absolute(root)}
    skip = sorted({_absolute(e) for e in exclude if e} | {os.path.realpath(e) for e in exclude if e})
    named = {rel for arg in argv if language_of(arg) and (rel := _relative(str(Path(root, arg)), roots))}
    read: set[str] = set()
    for path in reads or ():
        if path[-1:].lower() not in _MAYBE_CODE:
            continue  # most of a data run's reads, told apart by their last letter (see _MAYBE_CODE)
        source = _source_of(path)
        if source is None or any(_inside(source, e) or _inside(os.path.realpath(source), e) for e in skip):
            continue
        rel = _relative(source, roots)
        if rel and not _ENVIRONMENT_PARTS & set(rel.split("/")):
            read.add(rel)
    if not named and not read:
        if reads is None:
            return Missing(
                reason="no Python process reported what it read and no code file was named on the command line"
            )
        return Missing(reason="the command read no code file inside the project")
    if not read:
        method = NAMED_ON_COMMAND_LINE
    elif named <= read:
        method = READ_BY_COMMAND
    else:
        method = f"{READ_BY_COMMAND}, and {NAMED_ON_COMMAND_LINE}"
    return fingerprint_files(root, named | read, method)


# The last letters of the paths _source_of may take: those of the code suffixes and ".pyc", and "/"
# (language_of looks at the name before a trailing slash). Any other path is no code file.
_MAYBE_CODE = frozenset({*(suffix[-1] for suffix in LANGUAGES), "c", "/"})


def _source_of(path: str) -> str | None:
    """A code file read, or the source of a cached module (`pkg/__pycache__/mod.cpython-311.pyc` ->
    `pkg/mod.py`: Python reads the source only when the cache is stale)."""
    if language_of(path) is not None:
        return path
    if not path.endswith(".pyc"):
        return None
    cached = Path(path)
    if cached.suffix == ".pyc" and cached.parent.name == "__pycache__":
        source = str(cached.parent.parent / (cached.name.split(".", 1)[0] + ".py"))
        return source if os.path.lexists(source) else None
    return None


def _relative(path: str, roots: Iterable[str]) -> str | None:
    """`path` relative to the project root ('/'-separated), None when it is outside."""
    absolute = _absolute(path)
    for top in roots:
        if _inside(absolute, top) and absolute != top:
            return os.path.relpath(absolute, top).replace(os.sep, "/")
    return None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _absolute(path: str | Path) -> str:
    return os.path.normpath(Path(path).absolute())
