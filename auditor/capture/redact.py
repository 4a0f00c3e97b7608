"""Secret redaction at capture time: nothing secret reaches a file auditor writes.

Value scanners alone miss custom credentials and over-flag hashes, so auditor
works by name first: only allow-listed environment variables keep their values,
every other one is kept as a salted fingerprint (equal values give equal
fingerprints within one store, and nothing else can be learned from it). Values
that are kept are still scanned for URL credentials and provider token shapes.
The same scanners clean argv, git remotes, package URLs and the command's logs.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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
# A name that looks secret is never kept, even when a pattern above allows it.
SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|SIGNATURE|API_?KEY"
    r"|ACCESS_?KEY|(^|_)KEY($|_)|DSN|CONN(ECTION)?_?STR",
    re.IGNORECASE,
)

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
    ("url-credentials", re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)")),
)
# Values shorter than this are not searched for in logs: too likely to be ordinary words.
MIN_LOG_SECRET_LENGTH = 8


# One pass that finds whether any token shape is present: most strings hold none, and nine
# separate substitutions per string made redacting a whole record cost milliseconds.
ANY_TOKEN = re.compile("|".join(f"(?{'s' if p.flags & re.DOTALL else ''}:{p.pattern})" for _, p in TOKEN_PATTERNS))


def mask(text: str) -> tuple[str, int]:
    """Mask token shapes and URL credentials; return the text and how many were masked."""
    if ANY_TOKEN.search(text) is None:
        return text, 0
    count = 0
    for label, pattern in TOKEN_PATTERNS:
        text, n = pattern.subn(f"[REDACTED:{label}]", text)
        count += n
    return text, count


def secret_fragments(text: str) -> set[str]:
    """Each secret found in `text`, and for URL credentials the password on its own."""
    found: set[str] = set()
    for _label, pattern in TOKEN_PATTERNS:
        for match in pattern.finditer(text):
            found.add(match.group())
            if ":" in match.group():
                found.add(match.group().split(":", 1)[1])
    return found


def clean_url(url: str) -> str:
    """A URL without any credentials: user info is dropped from http(s), passwords from all."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask(url)[0]
    if parts.scheme and "@" in parts.netloc:
        userinfo, _, host = parts.netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        web = parts.scheme.rsplit("+", 1)[-1] in ("http", "https")  # git+https:// too
        keep_user = not web and not mask(user)[1] and len(user) < 20
        netloc = f"{user}@{host}" if keep_user else host
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return mask(url)[0]


@dataclass(frozen=True)
class RedactionPolicy:
    """Which environment variables keep their values, and the store's fingerprint salt."""

    salt: bytes
    allow: tuple[str, ...] = DEFAULT_ALLOW
    extra_allow: tuple[str, ...] = field(default_factory=tuple)

    @cached_property
    def _allow_pattern(self) -> re.Pattern[str]:
        return re.compile("|".join(fnmatch.translate(p) for p in self.allow + self.extra_allow))

    def allowed(self, name: str) -> bool:
        if SECRET_NAME.search(name):
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

    def secret_values(self, env: Mapping[str, str]) -> tuple[str, ...]:
        """Text that must not appear anywhere auditor writes: every value it does not keep,
        and the secrets found inside kept values (which may later show up split apart,
        as a PYTHONPATH entry ends up in sys.path)."""
        values: set[str] = set()
        for name, value in env.items():
            if self.allowed(name):
                values.update(secret_fragments(value))
            elif not _looks_like_paths(value) and not _PLAIN_VALUE.match(value):
                values.add(value)
                values.update(value.splitlines())  # a multi-line secret may be written line by line
        return tuple(sorted((v for v in values if len(v.strip()) >= MIN_LOG_SECRET_LENGTH), key=len, reverse=True))


# Values that are never secret but often repeated elsewhere in a record (a commit hash in
# GITHUB_SHA-like variables, numbers, flags): masking them would blank real evidence.
_PLAIN_VALUE = re.compile(r"^(?:[0-9a-f]{7,64}|[0-9]+|true|false|yes|no|on|off)$", re.IGNORECASE)


def _looks_like_paths(value: str) -> bool:
    """Folders and search paths (OLDPWD, XDG_*, JAVA_HOME, ...) are not secrets; masking them
    would blank every path in the record that happens to start with them."""
    parts = [p for p in value.split(":") if p]
    return bool(parts) and all(p.startswith(("/", "~/")) and not mask(p)[1] for p in parts)


class TextRedactor:
    """Masks token shapes plus a fixed set of known secret values (from the environment)."""

    def __init__(self, secret_values: Iterable[str]) -> None:
        values = [v for v in secret_values if v]
        self._values = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def __call__(self, text: str) -> tuple[str, int]:
        count = 0
        if self._values is not None:
            text, count = self._values.subn("[REDACTED:env-value]", text)
        text, more = mask(text)
        return text, count + more

    def data(self, value: Any) -> Any:
        """Every string in a JSON-shaped value, keys included, redacted and made valid UTF-8."""
        if isinstance(value, str):
            return self(printable(value))[0]
        if isinstance(value, dict):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
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
