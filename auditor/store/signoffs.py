"""Sign-offs in the store: written once beside the run, appended to the log, read back verified.

    STORE/signoffs/<run_id>/<signoff_id>.json

A file is the sign-off's canonical JSON (unsigned) or a DSSE envelope whose payload is that JSON
(signed, payloadType `application/vnd.auditor.signoff.v1+json`). Its SHA-256 goes into the store's
log as a `signoff` entry, under the store's lock, before the file is moved into place; a reader
believes only files whose bytes have a `signoff` entry for that run. A file nobody logged, a
logged file that is gone or changed: each is reported with its reason, never shown as a decision.

What a sign-off covers is decided here too, for every view (dossier, `verify`): the record's
SHA-256 and the findings' digest it names against the ones the reader has now; the signature
against the keys or trust roots the reader gives, or, when none is given, against the
certificate the signature carries (which proves the bytes are unchanged, not who the signer is:
the views say so).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from auditor.errors import AuditorError, EvidenceError, StoreError, StoreWriteError
from auditor.files import UntrustedFileError, fsync_dir, open_folder, read_regular_file, write_atomic
from auditor.record.ids import ULID_PATTERN
from auditor.record.signoff import SIGNOFF_PAYLOAD_TYPE, SignOff
from auditor.sign.canonical import canonical
from auditor.sign.certs import identity_of, parse_certificates, public_key_of
from auditor.sign.dsse import parse_envelope, verify_envelope
from auditor.sign.trust import Verifier, Verifiers
from auditor.store.entries import folder_entries
from auditor.store.runs import RunStore

SIGNOFFS_DIR = "signoffs"
SIGNOFF_MAX_BYTES = 1 << 20
UNPROVEN = "unproven"  # a sign-off entry whose line the log's tree does not hold: edited in place
MAX_SIGNOFFS = 1000  # per run: far above any real review; more is a store someone is flooding

Signature = Literal["verified", "self-declared", "invalid", "unsigned"]


@dataclass(frozen=True)
class StoredSignOff:
    """One sign-off file, read through no link, and whether the store's log holds its bytes."""

    path: Path
    data: bytes | None
    problem: str | None  # why it is not believed (not in the log, changed, gone, unreadable)


@dataclass(frozen=True)
class SignOffStatus:
    """A sign-off as a reader must see it: what it says, what it covers, who signed it."""

    file: str
    signoff: SignOff | None
    problem: str | None  # the sign-off cannot be believed at all (then signoff may be None)
    covers_record: bool
    covers_findings: bool
    signature: Signature
    signer: str | None
    signature_note: str

    @property
    def covers(self) -> bool:
        return self.problem is None and self.covers_record and self.covers_findings and self.signature != "invalid"


def signoff_bytes(signoff: SignOff) -> bytes:
    return canonical(signoff.model_dump(mode="json"))


def write_signoff(store: RunStore, signoff: SignOff, data: bytes) -> tuple[Path, str]:
    """Keep `data` (the sign-off's JSON, or its signed envelope) beside run `signoff.run_id`, and log
    it; the file's path and the log's new head as `SIZE:ROOT`. The run must be one the store verifies."""
    store.verify(signoff.run_id)
    folder = store.root / SIGNOFFS_DIR / signoff.run_id
    path = folder / f"{signoff.signoff_id}.json"
    entry = {
        "v": 1,
        "kind": "signoff",
        "run_id": signoff.run_id,
        "signoff_id": signoff.signoff_id,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    with store.locked():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(path):
                raise StoreError(f"{path}: a sign-off with this id exists already")
            write_atomic(path, data)
        except OSError as exc:
            raise StoreWriteError(f"{path}: the sign-off could not be written ({exc.strerror or exc})") from exc
        try:
            _, head = store.append_entry(entry)
        except AuditorError:
            path.unlink(missing_ok=True)  # a file the log does not hold would only ever be refused
            raise
        try:
            fsync_dir(folder)
        except OSError as exc:
            raise StoreWriteError(f"{path}: written, but not synced ({exc.strerror or exc})") from exc
    return path, head.text()


def stored_signoffs(store: RunStore, run_id: str) -> list[StoredSignOff]:
    """Every sign-off of `run_id` the log names, oldest first, and every file beside them that it
    does not: each with its bytes when the log vouches for them, else why not."""
    logged: dict[str, str] = {}
    for entry, proof in store.proven_entries("signoff", run_id):
        fields = entry.fields
        if fields.get("run_id") == run_id and isinstance(fields.get("signoff_id"), str):
            logged.setdefault(str(fields["signoff_id"]), str(fields.get("sha256")) if proof else UNPROVEN)
    folder = store.root / SIGNOFFS_DIR / run_id
    names = folder_entries(folder, "sign-offs")
    ids = {n.removesuffix(".json") for n in names if n.endswith(".json") and ULID_PATTERN.match(n[:-5])}
    found = [
        StoredSignOff(folder / n, None, "not a sign-off file auditor writes")
        for n in names
        if n.removesuffix(".json") not in ids
    ]
    for signoff_id in sorted(set(logged) | ids):
        path = folder / f"{signoff_id}.json"
        expected = logged.get(signoff_id)
        if expected is None:
            found.append(StoredSignOff(path, None, "not in the store's log: auditor did not record this sign-off"))
            continue
        try:
            data = _read(folder, f"{signoff_id}.json")
        except FileNotFoundError:
            found.append(StoredSignOff(path, None, "missing: the store's log names this sign-off, its file is gone"))
            continue
        except (OSError, UntrustedFileError) as exc:
            why = exc.why if isinstance(exc, UntrustedFileError) else exc.strerror
            found.append(StoredSignOff(path, None, f"cannot be read: {why}"))
            continue
        actual = hashlib.sha256(data).hexdigest()
        if expected == UNPROVEN:
            found.append(StoredSignOff(path, None, "its entry in the store's log is not the one the log's tree holds"))
            continue
        if actual != expected:
            found.append(StoredSignOff(path, None, f"changed since it was recorded (sha256 {actual[:16]}…)"))
            continue
        found.append(StoredSignOff(path, data, None))
    return found[:MAX_SIGNOFFS]


def parse_signoff(data: bytes, where: str) -> tuple[SignOff, bool]:
    """The sign-off a file holds, and whether it is a signed envelope (not yet verified)."""
    try:
        head: Any = json.loads(data[:SIGNOFF_MAX_BYTES].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise EvidenceError(f"{where}: not a sign-off (not JSON)") from exc
    signed = isinstance(head, Mapping) and "payloadType" in head
    payload = data
    if signed:
        envelope = parse_envelope(data, where=where)
        if envelope.payload_type != SIGNOFF_PAYLOAD_TYPE:
            raise EvidenceError(f"{where}: payloadType {envelope.payload_type[:80]!r} is not a sign-off's")
        payload = envelope.payload
    try:
        signoff = SignOff.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(document)"
        raise EvidenceError(f"{where}: field {field}: {first['msg']}") from exc
    return signoff, signed


def check_signoff(
    stored: StoredSignOff,
    *,
    run_id: str,
    record_sha256: str,
    findings_sha256: str | None,
    verifiers: Verifiers | None = None,
) -> SignOffStatus:
    """How `stored` stands against the record and findings a reader has now. `findings_sha256`
    None: the reader has no findings (so the sign-off cannot be said to cover them)."""
    where = str(stored.path)
    if stored.data is None:
        return _unbelieved(where, None, stored.problem or "unreadable")
    try:
        signoff, signed = parse_signoff(stored.data, where)
    except EvidenceError as exc:
        return _unbelieved(where, None, exc.message.removeprefix(f"{where}: "))
    if signoff.run_id != run_id:
        return _unbelieved(where, signoff, f"made for run {signoff.run_id}, not this one")
    signature, signer, note = _signature(stored.data, where, signed, verifiers)
    return SignOffStatus(
        file=where,
        signoff=signoff,
        problem=None,
        covers_record=signoff.record_sha256 == record_sha256,
        covers_findings=findings_sha256 is not None and signoff.findings_sha256 == findings_sha256,
        signature=signature,
        signer=signer,
        signature_note=note,
    )


def _signature(data: bytes, where: str, signed: bool, verifiers: Verifiers | None) -> tuple[Signature, str | None, str]:
    if not signed:
        if verifiers:  # the reader asked for signatures by the keys they trust: a name alone is not one
            return "invalid", None, "not signed, so no key you gave vouches for it"
        return "unsigned", None, "not signed: it names a person, nothing proves it was them"
    if verifiers:
        try:
            verified = verify_envelope(data, verifiers, payload_type=SIGNOFF_PAYLOAD_TYPE, where=where)
        except EvidenceError as exc:
            return "invalid", None, exc.message.removeprefix(f"{where}: ")
        who = ", ".join(verified.signed_by)
        return "verified", who, f"verified: signed by {who}, with a key or certificate you trust"
    envelope = parse_envelope(data, where=where)
    pinned: dict[str, Verifier] = {}
    for index, signature in enumerate(envelope.signatures):
        at = f"{where}: signatures[{index}].cert"
        chain = parse_certificates(signature.cert.encode(), at, EvidenceError) if signature.cert else []
        if not chain:
            return "invalid", None, f"signed by key {signature.keyid[:16]}, which it does not carry: give its key"
        leaf = chain[0]
        key = public_key_of(leaf, at, EvidenceError)
        pinned[signature.keyid] = Verifier(signature.keyid, key, identity_of(leaf), leaf)
    try:
        verified = verify_envelope(data, Verifiers(pinned), payload_type=SIGNOFF_PAYLOAD_TYPE, where=where)
    except EvidenceError as exc:
        return "invalid", None, exc.message.removeprefix(f"{where}: ")
    who = ", ".join(verified.signed_by)
    return (
        "self-declared",
        who,
        f"intact, by the certificate it carries ({who}), which no key or trust root you gave vouches for "
        "(report --key or --trust)",
    )


def _unbelieved(where: str, signoff: SignOff | None, problem: str) -> SignOffStatus:
    return SignOffStatus(where, signoff, problem, False, False, "invalid", None, problem)


def _read(folder: Path, name: str) -> bytes:
    with open_folder(folder) as fd:
        return read_regular_file(name, SIGNOFF_MAX_BYTES, dir_fd=fd)
