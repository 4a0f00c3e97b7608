"""The one rule for names that hold secrets, and masking values under such names.

Used for environment variables (`DB_PASSWORD`), command-line flags (`--api-key`), URL query
parameters (`?access_token=`), logged params and metrics, ingested params and tags. A substring
rule (`TOKEN` anywhere) hid ordinary ML evidence (`max_tokens`, `tokenizer`, `key_metric`,
`author`), so names are split into words (snake, kebab, dotted and camelCase alike) and judged
word by word:

- a word containing `password`, `passwd`, `passphrase`, `passcode`, `secret`, `credential` or
  `cookie`, or the word `auth`, `oauth`, `authorization`, `creds`, `dsn`, `jwt`, `bearer`: secret;
  a connection string (`conn_str`, `CONNECTION_STRING`) too;
- `token` as the last word (`GITHUB_TOKEN`, `token`) unless an ML qualifier comes before it
  (`pad_token`, `max_token`); `token` or `tokens` right after a credential qualifier
  (`access_token_expiry`, `api_tokens`). So `max_tokens`, `token_count`, `pad_token_id` are not;
- `key` alone, `key`/`keys` right after a credential qualifier (`API_KEY`, `AWS_ACCESS_KEY_ID`),
  and `key` as the last word unless an ML qualifier comes before it: `STRIPE_KEY` is secret,
  `primary_key`, `sort_key`, `rng_key` are not, and `key_metric`, `keyboard`, `monkey` never were;
- `pwd` after another word (`MYSQL_PWD`; `PWD` alone is the working folder), `pass` alone or
  last (`DB_PASS`) unless it counts passes (`forward_pass`; `passes` is another word).
- Glued words split at a credential qualifier: `apikey`, `accessToken`, `clientsecret`.
- A name whose last word describes the credential is not one: `--password-file`, `SECRET_NAME`,
  `AUTH_TYPE`, `token_url` (a URL is scrubbed as a URL anyway).

URL query parameters add the signatures of pre-signed URLs (`sig`, `signature`, `X-Amz-Signature`,
`X-Goog-Signature`): `signature` alone is a model's signature in ML, so only URLs mask it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from auditor.capture.jsonmask import masked_json_text

SECRET_MASK = "[REDACTED:secret-name]"  # noqa: S105 - the mask, not a password

_SUBSTRINGS = ("password", "passwd", "passphrase", "passcode", "secret", "credential", "cookie")
_WORDS = frozenset(
    {"auth", "oauth", "authorization", "authorisation", "creds", "dsn", "jwt", "bearer", "connstr", "connectionstring"}
)
# Words that make the `token` or `key` right after them a credential.
_QUALIFIERS = frozenset(
    {
        "access", "api", "app", "auth", "oauth", "bearer", "bot", "client", "csrf", "xsrf", "deploy", "id",
        "personal", "private", "refresh", "sas", "security", "service", "session", "secret", "signing",
        "sign", "encryption", "encrypt", "master", "ssh", "gpg", "pgp", "subscription", "account",
        "storage", "license", "licence", "hmac", "admin", "shared", "consumer", "webhook", "aes", "rsa",
        "jwt", "pem", "write", "upload",
    }
)  # fmt: skip
# Words before `token` or `key` that make it ML vocabulary, not a credential.
_TOKEN_ML = frozenset(
    {
        "pad", "bos", "eos", "unk", "sep", "cls", "mask", "start", "end", "begin", "stop", "special", "max",
        "min", "num", "n", "total", "input", "output", "prompt", "completion", "new", "vocab", "image",
        "eot", "sot", "eoi", "boi", "decoder", "encoder", "unknown", "first", "last", "next", "prev",
        "target", "source", "sentence", "word", "sub", "subword", "per", "avg", "mean", "train", "eval",
        "bpe", "byte", "char", "audio", "video", "text", "system", "assistant", "tool", "placeholder",
        "default", "dummy", "added", "split", "chunk", "context", "cached", "batch", "generated", "seq",
        "sequence", "query", "answer", "label", "mlm", "class", "think", "reasoning", "cache", "vision",
    }
)  # fmt: skip
_KEY_ML = frozenset(
    {
        "primary", "foreign", "sort", "join", "partition", "group", "grouping", "label", "target", "input",
        "output", "metric", "monitor", "feature", "column", "col", "index", "dict", "cache", "lookup", "rng",
        "prng", "random", "seed", "data", "dataset", "batch", "split", "model", "class", "image", "text",
        "audio", "video", "sample", "record", "row", "composite", "unique", "natural", "surrogate",
        "candidate", "shard", "object", "blob", "file", "path", "prefix", "query", "value", "attention",
        "hash", "id", "name", "state", "layer", "param", "weight", "config", "task", "result", "score",
        "sorting", "dedup", "entity", "item", "event", "time", "date", "stratify", "mapping",
    }
)  # fmt: skip
# A last word that says the name describes a credential rather than holding one: `--password-file`,
# `SECRET_NAME`, `AUTH_TYPE`. Their values are evidence (and masking a path on the command line
# would keep the run from being repeated).
_DESCRIBES = frozenset(
    {
        "file", "path", "dir", "folder", "type", "mode", "method", "name", "url", "uri", "host", "port",
        "user", "username", "enabled", "disabled", "required", "provider", "length", "expiry", "expires",
        "ttl", "timeout", "version", "algorithm", "env", "var",
    }
)  # fmt: skip
# Ordinary words that contain a credential word: `secretary` is not a secret, nor is a cookiecutter template.
_PLAIN_WORDS = frozenset(
    {"secretary", "secretaries", "secretariat", "secrete", "secreted", "secretes", "secretion", "secretory",
     "cookiecutter", "passwordless"}
)  # fmt: skip
_PASS_ML = frozenset({"forward", "backward", "first", "second", "single", "multi", "one", "two", "n", "num", "bypass"})
_GLUED = ("tokens", "token", "keys", "key")
_URL_WORDS = frozenset({"sig", "signature", "pwd"})


def words(name: str) -> tuple[str, ...]:
    """`X-Amz-Signature` -> (x, amz, signature); `accessToken` -> (access, token); `apikey` -> (api, key)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    out: list[str] = []
    for word in re.split(r"[^a-z0-9]+", spaced.lower()):
        if not word:
            continue
        for tail in _GLUED:
            head = word[: -len(tail)]
            if word.endswith(tail) and head in _QUALIFIERS:
                out += [head, tail]
                break
        else:
            out.append(word)
    return tuple(out)


@lru_cache(maxsize=4096)
def looks_secret(name: str) -> bool:
    """Whether values under `name` are credentials (see the module docstring for the rule)."""
    ws = words(name)
    if len(ws) > 1 and ws[-1] in _DESCRIBES:
        return False
    for i, word in enumerate(ws):
        before = ws[i - 1] if i else ""
        last = i == len(ws) - 1
        if word in _WORDS or (word not in _PLAIN_WORDS and any(s in word for s in _SUBSTRINGS)):
            return True
        if word in ("conn", "connection") and not last and ws[i + 1] in ("str", "string"):
            return True
        if word in ("token", "tokens", "key", "keys") and before in _QUALIFIERS:
            return True
        if word == "token" and last and before not in _TOKEN_ML:
            return True
        if word == "key" and (len(ws) == 1 or (last and before not in _KEY_ML)):
            return True
        if word == "pwd" and i > 0:
            return True
        if word == "pass" and (len(ws) == 1 or (last and before not in _PASS_ML)):
            return True
    return False


@lru_cache(maxsize=1024)
def looks_secret_param(name: str) -> bool:
    """A URL query parameter whose value is a credential: the name rule, plus the signatures of
    pre-signed URLs (`sig`, `X-Amz-Signature`, `X-Goog-Signature`). What a pre-signed URL says
    besides (`X-Amz-Date`, `X-Amz-Expires`, `se`, `sp`, `sv`) is kept."""
    ws = words(name)
    return looks_secret(name) or bool(ws and ws[-1] in _URL_WORDS)


def mask_named(data: dict[str, Any]) -> None:
    """In a record's JSON: values under secret-looking names in params, tags and lineage
    annotations (nested JSON included) are masked, and metrics under such names dropped (a
    metric holds a number, which cannot carry a mask). Captured and ingested runs alike."""
    for section in ("params", "tags"):
        if isinstance(data.get(section), dict):
            data[section] = masked_mapping(data[section])
    metrics = data.get("metrics")
    lineage = data.get("lineage")
    if isinstance(metrics, list):
        secret = [isinstance(m, dict) and looks_secret(str(m.get("name", ""))) for m in metrics]
        kept = [m for m, hidden in zip(metrics, secret, strict=True) if not hidden]  # linear: `m not in kept` was
        dropped = sorted({str(m["name"]) for m, hidden in zip(metrics, secret, strict=True) if hidden})  # quadratic
        data["metrics"] = kept
        if dropped and isinstance(lineage, dict):
            lineage["notes"] = [*(lineage.get("notes") or []), *map(metric_dropped, dropped)]
    if isinstance(lineage, dict):
        for kind in ("datasets", "steps", "models"):
            for item in lineage.get(kind) or ():
                if isinstance(item, dict) and isinstance(item.get("annotations"), dict):
                    item["annotations"] = masked_mapping(item["annotations"])
    if isinstance(data.get("model_card"), dict):
        _mask_model_card(data["model_card"])


def _mask_model_card(card: dict[str, Any]) -> None:
    """The model card repeats params (logged, from params files, read from model files): the same names
    are masked there, and metrics-file values under secret names dropped."""
    for file in card.get("params_files") or ():
        if isinstance(file, dict) and isinstance(file.get("values"), dict):
            file["values"] = masked_mapping(file["values"])
    for file in card.get("metrics_files") or ():
        if isinstance(file, dict) and isinstance(file.get("values"), dict):
            file["values"] = {k: v for k, v in file["values"].items() if not looks_secret(str(k))}
    for item in card.get("hyperparameters") or ():
        if isinstance(item, dict) and looks_secret(str(item.get("name", "")).rsplit(".", 1)[-1]):
            item["value"] = SECRET_MASK
    for model in card.get("models") or ():
        file = model.get("file") if isinstance(model, dict) else None
        for estimator in (file.get("estimators") or ()) if isinstance(file, dict) else ():
            if isinstance(estimator, dict) and isinstance(estimator.get("hyperparameters"), dict):
                estimator["hyperparameters"] = masked_mapping(estimator["hyperparameters"])


def metric_dropped(name: str) -> str:
    return f"metric {name!r} has a secret-looking name, so its values were not kept"


def masked_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    """A copy with every non-empty value under a secret-looking name masked, nested or in JSON text."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if looks_secret(str(key)) and value not in (None, ""):
            out[key] = SECRET_MASK
        elif isinstance(value, dict):
            out[key] = masked_mapping(value)
        elif isinstance(value, list):
            out[key] = [masked_mapping(v) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, str) and value[:1] in "{[":
            out[key] = _masked_json(value)
        else:
            out[key] = value
    return out


def _masked_json(text: str) -> str:
    return masked_json_text(text, looks_secret, SECRET_MASK)
