"""Secret redaction at capture time: nothing secret reaches a file auditor writes.

Value scanners alone miss custom credentials and over-flag hashes, so auditor
works by name first: only allow-listed environment variables keep their values,
every other one is kept as a salted fingerprint (equal values give equal
fingerprints within one store, and nothing else can be learned from it). Values
that are kept are still scanned for URL credentials and provider token shapes.
The same scanners, with scrub.py's (secrets by their place: after `--password`, in a
URL's user info or `?token=`, after `DB_PASSWORD=`), clean argv, git remotes, package
URLs and the command's logs.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from auditor.capture.scrub import scrub_argv, scrub_command, scrub_text, scrub_url
from auditor.capture.secretnames import looks_secret
from auditor.record.models import EnvVar

DEFAULT_ALLOW: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "PWD",
    "TERM",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "CI",
    "PYTHON*",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "CONDA_DEFAULT_ENV",
    "CUDA_*",
    "NVIDIA_*",
    "OMP_*",
    "MKL_*",
    "OPENBLAS_*",
    "KMP_*",
    "NUMEXPR_*",
    "TORCH_*",
    "TF_*",
    "XLA_*",
    "JAX_*",
    "HF_HOME",
    "TOKENIZERS_PARALLELISM",
    "TRANSFORMERS_CACHE",
    "CUBLAS_WORKSPACE_CONFIG",
    "LD_LIBRARY_PATH",
    "HOSTNAME",
    # CI systems describe the build in these; their credentials have secret-looking names.
    "GITHUB_*",
    "GITLAB_*",
    "CI_*",
    "RUNNER_*",
    "BUILDKITE_*",
    "CIRCLE_*",
    "JENKINS_*",
    "BUILD_*",
    "GIT_*",
)
# A name that looks secret (secretnames.looks_secret) is never kept, even when a pattern above allows it;
# auditor's own settings are kept ("SECRET" in AUDITOR_SECRET_FLAGS names flags, it holds no secret).
OWN_SETTINGS = frozenset({"AUDITOR_ENV_ALLOW", "AUDITOR_SECRET_FLAGS"})

TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "private-key",
        re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL),
    ),
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("huggingface-token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("api-key", re.compile(r"\b(?:sk|rk)[-_](?:live_|test_|proj-|ant-)?[A-Za-z0-9_-]{20,}")),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
)
# Values shorter than this are not searched for as bare text in logs and the record: too likely
# to be ordinary words or numbers (a 4-digit PIN would blank every 4-digit number). Shorter ones
# are still masked where their place shows them: under a secret name, after a secret flag, in a
# URL's user info or secret parameter, after `NAME=` in text.
MIN_LOG_SECRET_LENGTH = 8


# One pass that finds whether any token shape is present: most strings hold none, and nine
# separate substitutions per string made redacting a whole record cost milliseconds.
ANY_TOKEN = re.compile("|".join(f"(?{'s' if p.flags & re.DOTALL else ''}:{p.pattern})" for _, p in TOKEN_PATTERNS))


# Every token shape starts with one of these: a long text (a record's strings searched together)
# is first scanned for them with `in`, many times faster than the regular expressions above.
TOKEN_LITERALS = (
    "-----BEGIN",
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "hf_",
    "sk-",
    "sk_",
    "rk-",
    "rk_",
    "xox",
    "AIza",
    "eyJ",
)
_LITERALS_FROM = 1024


def mask(text: str) -> tuple[str, int]:
    """Mask URL credentials and secret URL parameters, values after secret names and flags,
    and token shapes; return the text and how many were masked."""
    text, count, _ = scrub_text(text)
    if not _has_token(text):
        return text, count
    for label, pattern in TOKEN_PATTERNS:
        text, n = pattern.subn(f"[REDACTED:{label}]", text)
        count += n
    return text, count


def _has_token(text: str) -> bool:
    if len(text) >= _LITERALS_FROM and not any(part in text for part in TOKEN_LITERALS):
        return False
    return ANY_TOKEN.search(text) is not None


def secret_fragments(text: str) -> set[str]:
    """Each secret found in `text`: token shapes, URL passwords and tokens, values after secret names."""
    found: set[str] = set(scrub_text(text)[2])
    for _label, pattern in TOKEN_PATTERNS:
        found.update(match.group() for match in pattern.finditer(text))
    return found


def mask_command(command: str) -> str:
    """A shell command line as an argv would be masked (`mysql -pX`, `--password X`, URLs)."""
    return mask(scrub_command(command))[0]


def clean_url(url: str) -> str:
    """A URL without any credentials: user info is dropped from http(s), passwords from all,
    secret query parameters (`token`, `X-Amz-Signature`, `sig`, ...) masked, the rest kept."""
    return mask(scrub_url(url, drop=True)[0])[0]


@dataclass(frozen=True)
class RedactionPolicy:
    """Which environment variables keep their values, which extra flags hold secrets
    (AUDITOR_SECRET_FLAGS), and the store's fingerprint salt."""

    salt: bytes
    allow: tuple[str, ...] = DEFAULT_ALLOW
    extra_allow: tuple[str, ...] = field(default_factory=tuple)
    secret_flags: tuple[str, ...] = field(default_factory=tuple)

    @cached_property
    def _allow_pattern(self) -> re.Pattern[str]:
        return re.compile("|".join(fnmatch.translate(p) for p in self.allow + self.extra_allow))

    def allowed(self, name: str) -> bool:
        if name in OWN_SETTINGS:
            return True
        if looks_secret(name):
            return False
        return self._allow_pattern.match(name) is not None

    def fingerprint(self, value: str) -> str:
        digest = hmac.new(self.salt, value.encode("utf-8", "surrogateescape"), hashlib.sha256)
        return "hmac-sha256:" + digest.hexdigest()[:16]

    def environment(self, env: Mapping[str, str]) -> tuple[EnvVar, ...]:
        out = []
        for name in sorted(env):
            value = env[name]
            if not self.allowed(name):
                out.append(EnvVar(name=name, disposition="fingerprinted", fingerprint=self.fingerprint(value)))
                continue
            masked, count = mask(value)
            out.append(EnvVar(name=name, disposition="masked" if count else "kept", value=masked))
        return tuple(out)

    def argv(self, argv: Sequence[str]) -> tuple[str, ...]:
        """The command line as recorded: values after secret flags, URL credentials, secret
        `NAME=value` words and token shapes masked."""
        scrubbed, _ = scrub_argv(argv, self.secret_flags)
        return tuple(mask(arg)[0] for arg in scrubbed)

    def secret_values(self, env: Mapping[str, str], argv: Sequence[str] = ()) -> tuple[str, ...]:
        """Text that must not appear anywhere auditor writes: the value of every secret-named
        variable whatever it looks like, every other value not kept unless it is plainly evidence
        (a path, a hash, a number), the secrets found inside kept values (which may later show
        up split apart, as a PYTHONPATH entry ends up in sys.path), and those on the command line."""
        values: set[str] = set()
        for name, value in env.items():
            values.update(secret_fragments(value))
            if self.allowed(name):
                continue
            if looks_secret(name) or not (_looks_like_paths(value) or _PLAIN_VALUE.match(value)):
                values.add(value)
                values.update(value.splitlines())  # a multi-line secret may be written line by line
        _, found = scrub_argv(argv, self.secret_flags)
        values.update(found)
        for arg in argv:
            values.update(secret_fragments(arg))
        return tuple(sorted((v for v in values if len(v.strip()) >= MIN_LOG_SECRET_LENGTH), key=len, reverse=True))


# Values that are never secret but often repeated elsewhere in a record (a commit hash in
# GITHUB_SHA-like variables, numbers, flags): masking them would blank real evidence.
_PLAIN_VALUE = re.compile(r"^(?:[0-9a-f]{7,64}|[0-9]+|true|false|yes|no|on|off)$", re.IGNORECASE)


def _looks_like_paths(value: str) -> bool:
    """Folders and search paths (OLDPWD, XDG_*, JAVA_HOME, ...) are not secrets; masking them
    would blank every path in the record that happens to start with them."""
    parts = [p for p in value.split(":") if p]
    return bool(parts) and all(p.startswith(("/", "~/")) and not mask(p)[1] for p in parts)


_CHUNK = 512  # strings searched together by `data`; a chunk that would change is redone one by one
_PREFILTER_CHARS = 1024  # longer texts are first tested for each known value with `in` (a fast scan)


class TextRedactor:
    """Masks what `mask` finds plus a fixed set of known secret values (from the environment and argv)."""

    def __init__(self, secret_values: Iterable[str]) -> None:
        values = [v for v in secret_values if v]
        self._known = tuple(values)
        self._values = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def __call__(self, text: str) -> tuple[str, int]:
        count = 0
        # An alternation of many literal values tries each at every position; `in` scans fast.
        if self._values is not None and (len(text) < _PREFILTER_CHARS or any(v in text for v in self._known)):
            text, count = self._values.subn("[REDACTED:env-value]", text)
        text, more = mask(text)
        return text, count + more

    def clean(self, texts: Sequence[str]) -> bool:
        """Whether redacting would leave every one of `texts` as it is, found with one search of
        them joined by newlines. Sound because no pattern's match depends on what lies beyond a
        newline: every lookbehind and word boundary reads a newline as the start of a text does,
        and no match that starts inside one text and crosses a newline can be missed (it changes
        the joined text, so the answer is no; only a private key's block may cross, and it is
        found wherever it starts). Texts that are not valid UTF-8 are never clean."""
        joined = "\n".join(texts)
        return printable(joined) == joined and self(joined) == (joined, 0)

    def data(self, value: Any) -> Any:
        """Every string in a JSON-shaped value, keys included, redacted and made valid UTF-8.

        A record holds tens of thousands of strings and nearly all come out as they went in, so
        the distinct ones are searched in chunks (`clean`), and only a chunk that would change is
        redacted string by string; the value is rebuilt only when some string changed."""
        strings: set[str] = set()
        _strings(value, strings)
        ordered = sorted(strings)
        changed: dict[str, str] = {}
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            if self.clean(chunk):
                continue
            for text in chunk:
                done = self(printable(text))[0]
                if done != text:
                    changed[text] = done
        return _replaced(value, changed) if changed else value


def _strings(value: Any, into: set[str]) -> None:
    if isinstance(value, str):
        into.add(value)
    elif isinstance(value, dict):
        into.update(value)  # keys: a JSON-shaped value's are strings
        for item in value.values():
            _strings(item, into)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings(item, into)


def _replaced(value: Any, changed: dict[str, str]) -> Any:
    if isinstance(value, str):
        return changed.get(value, value)
    if isinstance(value, dict):
        return {changed.get(k, k) if isinstance(k, str) else k: _replaced(v, changed) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replaced(v, changed) for v in value]
    return value


def printable(text: str) -> str:
    """Text that encodes as UTF-8: undecodable bytes (surrogate escapes) become \\xNN."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(
            (f"\\x{ord(c) - 0xDC00:02x}" if "\udc80" <= c <= "\udcff" else "\ufffd") if "\ud800" <= c <= "\udfff" else c
            for c in text
        )
    return text
