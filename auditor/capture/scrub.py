"""The one argv and URL scrubber: secrets by where they stand, not by what they look like.

A value scanner (redact.py's token shapes) cannot tell a password from a file name; its place can:
the value after `--password`, the password part of `redis://:pw@host`, the `X-Amz-Signature` of a
pre-signed URL, the text after `DB_PASSWORD=`. Names are judged by secretnames.looks_secret.

`-p` is a password only for the MySQL and MariaDB clients (glued, `-pSECRET`: their `-p NAME`
prompts and NAME is the database), `sshpass -p`, `7z -p`; for psql, ssh, docker and most tools
it is a port or a count and is kept. Other flags can be named in AUDITOR_SECRET_FLAGS.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import unquote

from auditor.capture.secretnames import looks_secret, looks_secret_param

# The masks and the variable's name, not passwords:
SECRET_FLAGS_ENV = "AUDITOR_SECRET_FLAGS"  # noqa: S105
URL_CREDENTIALS = "[REDACTED:url-credentials]"
URL_SECRET = "[REDACTED:url-secret]"  # noqa: S105
FLAG_SECRET = "[REDACTED:secret-flag]"  # noqa: S105
NAMED_SECRET = "[REDACTED:secret-name]"  # noqa: S105

_WEB = ("http", "https", "ws", "wss", "ftp", "ftps")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")
# Text cheap to rule out: most log lines hold no URL and none of these fragments of secret names.
_FRAGMENTS = ("pass", "pwd", "secret", "token", "key", "auth", "cred", "cookie", "dsn", "conn")
_PAIR = re.compile(
    r"(?<![\w.-])(?P<name>[A-Za-z_][\w.-]*)[\"']?[ \t]*(?P<sep>[=:])[ \t]*[\"']?"
    r"(?P<value>(?<=\")[^\"\n]+|(?<=')[^'\n]+|(?:(?i:bearer|basic|token|digest)[ \t]+)?[^\s\"',;&<>(){}\[\]]+)"
)
_PROSE = frozenset({"key", "keys", "pass", "auth"})  # before a colon, as often a heading as a secret
_FLAG = re.compile(r"(?<![\w-])--?(?P<name>[A-Za-z][\w.-]+)[ \t]+(?P<value>[^\s\"'\-\[][^\s\"']*)")

# Programs whose short flags carry a password: flag -> how ("glued": -pSECRET only,
# "both": -p SECRET too, "userpass": user:SECRET, the user is kept).
_MYSQL_CLIENTS = (
    "mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck", "mysqlpump",
    "mysqlslap", "mariadb", "mariadb-dump", "mariadb-admin", "mariadb-import", "mariadb-check",
)  # fmt: skip
PROGRAM_FLAGS: dict[str, dict[str, str]] = {
    **{name: {"-p": "glued"} for name in _MYSQL_CLIENTS},
    "sshpass": {"-p": "both"},
    "redis-cli": {"-a": "both", "--pass": "both"},
    "7z": {"-p": "glued"},
    "7za": {"-p": "glued"},
    "zip": {"-P": "both"},
    "unzip": {"-P": "both"},
    "curl": {"-u": "userpass", "--user": "userpass", "-U": "userpass", "--proxy-user": "userpass"},
}
_NAME = re.compile(r"[A-Za-z_][\w.-]*")
_SEPARATORS = frozenset({";", "&&", "||", "|", "&"})


def secret_flags(env: Mapping[str, str]) -> tuple[str, ...]:
    """Extra flags named in AUDITOR_SECRET_FLAGS ("--my-flag,-k"), as given to the command."""
    return tuple(f.strip() for f in env.get(SECRET_FLAGS_ENV, "").split(",") if f.strip().startswith("-"))


def scrub_url(url: str, *, drop: bool = False) -> tuple[str, list[str]]:
    """`url` with its credentials masked (or, with `drop`, removed): the user info of web URLs
    (`https://TOKEN@host`), passwords of all (`redis://:pw@host`), and secret query and fragment
    parameters (`?token=`, `X-Amz-Signature=`). Returns the URL and the secrets it held."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url, []
    found: list[str] = []
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    netloc, tail = rest[:end], rest[end:]
    if "@" in netloc and not netloc.startswith("[REDACTED:"):
        userinfo, _, host = netloc.rpartition("@")
        user, colon, password = userinfo.partition(":")
        web = scheme.lower().rsplit("+", 1)[-1] in _WEB  # git+https:// too
        if web or len(user) >= 20 or not user:
            found += [p for p in (user, password) if p and "[REDACTED:" not in p]
            netloc = host if drop else f"{URL_CREDENTIALS}@{host}"
        elif colon and not password.startswith("[REDACTED:"):
            found.append(password)
            netloc = f"{user}@{host}" if drop else f"{user}:{URL_CREDENTIALS}@{host}"
    tail, more = _scrub_params(tail)
    return f"{scheme}://{netloc}{tail}", found + more


def _scrub_params(tail: str) -> tuple[str, list[str]]:
    """Mask secret values in the query and the fragment (`#access_token=` of OAuth)."""
    if "=" not in tail:
        return tail, []
    found: list[str] = []

    def one(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if value and not value.startswith("[REDACTED:") and looks_secret_param(unquote(name)):
            found.append(value)
            found.append(unquote(value))
            return f"{name}={URL_SECRET}"
        return match.group()

    return re.sub(r"(?<=[?&#;])([^=&#;?]+)=([^&#;]*)", one, tail), found


def scrub_text(text: str) -> tuple[str, int, list[str]]:
    """URLs, `NAME=value`/`NAME: value` pairs and `--flag value` in free text (logs, argv, errors),
    scrubbed; the text, how many were masked and what they were."""
    found: list[str] = []
    count = 0
    if "://" in text:

        def url(match: re.Match[str]) -> str:
            nonlocal count
            clean, secrets = scrub_url(match.group())
            count += bool(secrets)
            found.extend(secrets)
            return clean

        text = _URL.sub(url, text)
    lowered = text.lower()
    if not any(fragment in lowered for fragment in _FRAGMENTS):
        return text, count, found

    def pair(match: re.Match[str]) -> str:
        nonlocal count
        name, value = match.group("name"), match.group("value")
        if value.startswith("[REDACTED:") or name.lower().startswith(("no-", "no_")) or not looks_secret(name):
            return match.group()
        if name.lower() in _PROSE and match.groupdict().get("sep") == ":":
            return match.group()  # "Key: the applicant id", "pass: 12 of 12"
        count += 1
        found.append(value)
        start, end = match.span("value")
        whole = match.group()
        base = match.start()
        return whole[: start - base] + NAMED_SECRET + whole[end - base :]

    text = _PAIR.sub(pair, text)
    text = _FLAG.sub(pair, text)
    return text, count, found


def scrub_argv(argv: Sequence[str], extra_flags: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """Values after secret flags masked: `--password X`, `--api-key=X`, `-pX` for MySQL clients,
    AUDITOR_SECRET_FLAGS. A word holding spaces (`bash -c "mysql -pX"`) is scrubbed word by word.
    Returns the new argv and the values masked."""
    extras = frozenset(extra_flags)
    out = list(argv)
    found: list[str] = []
    rules: dict[str, str] = {}
    pending = ""  # how the next word is a secret, when it is
    for i, arg in enumerate(argv):
        if pending and not (arg.startswith("-") and len(arg) > 1):
            out[i] = _masked_value(arg, pending, found)
            pending = ""
            continue
        pending = ""
        if any(c.isspace() for c in arg):
            out[i] = _scrub_words(arg, extras, found)
            continue
        if arg in _SEPARATORS:
            rules = {}
        elif arg.rpartition("/")[2] in PROGRAM_FLAGS and not arg.startswith("-"):
            rules = PROGRAM_FLAGS[arg.rpartition("/")[2]]
        elif arg.startswith("-") and len(arg) > 1:
            before = len(found)
            out[i], pending = _flag(arg, rules, extras, found)
            if pending in rules.values() or len(found) > before:
                rules = {}  # the program's password is given once: `sshpass -p PW ssh -p 22` keeps the port
        elif _NAME.fullmatch(arg.partition("=")[0]) and looks_secret(arg.partition("=")[0]):
            name, _, value = arg.partition("=")  # `DB_PASSWORD=x` (env), `db.password=x` (Hydra)
            if value:
                found.append(value)
                out[i] = f"{name}={NAMED_SECRET}"
    return out, found


def _flag(arg: str, rules: dict[str, str], extras: frozenset[str], found: list[str]) -> tuple[str, str]:
    """One word that starts with `-`: the word as kept, and how the next word is a secret."""
    flag, eq, value = arg.partition("=")
    how = rules.get(flag) or ("both" if flag in extras else "")
    if not how:
        for short, glued in [*rules.items(), *((e, "both") for e in extras)]:
            if len(short) == 2 and arg.startswith(short) and len(arg) > 2:  # -pSECRET
                return short + _masked_value(arg[2:], glued, found), ""
        name = flag.lstrip("-")
        how = "both" if len(name) > 1 and not name.startswith("no-") and looks_secret(name) else ""
    if not how:
        return arg, ""
    if eq:
        return f"{flag}={_masked_value(value, how, found)}", ""
    return arg, how if how != "glued" else ""


def _masked_value(value: str, how: str, found: list[str]) -> str:
    if how == "userpass":
        user, colon, password = value.partition(":")
        if not colon or not password:
            return value
        found.append(password)
        return f"{user}:{FLAG_SECRET}"
    if value:
        found.append(value)
    return FLAG_SECRET


def scrub_command(text: str, extra_flags: Iterable[str] = ()) -> str:
    """A shell command line (an auditor.yaml step): its words scrubbed as an argv, the spacing kept."""
    return _scrub_words(text, frozenset(extra_flags), [])


def _scrub_words(text: str, extras: frozenset[str], found: list[str]) -> str:
    """A shell command in one word: its words scrubbed as an argv, the spacing kept."""
    spans = [m.span() for m in re.finditer(r"\S+", text)]
    words, more = scrub_argv([text[a:b] for a, b in spans], extras)
    found.extend(more)
    for (a, b), word in reversed(list(zip(spans, words, strict=True))):
        text = text[:a] + word + text[b:]
    return text
