"""W&B artifacts as the record's datasets and models.

An artifact names its files by their place in the artifact, not on the machine that logged
them, so auditor has no file to hash: W&B's digests are kept as identity hints. W&B's digest
of a file is the base64 of its MD5 (kept as hex MD5 for a one-file artifact); an artifact's
own digest is the MD5 of its manifest (each file's path and MD5), which names this version of
the files. A reference artifact's entries point elsewhere (s3://, gs://, https://): their URIs
are kept, credentials removed.
"""

from __future__ import annotations

import base64
import binascii

from auditor.capture.redact import clean_url
from auditor.ingest.mlflow.raw import safe_id, unique
from auditor.ingest.wandb import TOOL
from auditor.ingest.wandb.raw import RawArtifact, RawRun
from auditor.record.base import Missing
from auditor.record.lineage import Dataset, Datasheet, IdentityHint, ModelArtifact

MAX_LISTED = 20
MAX_TEXT = 2000
FILE_MEANING = (
    "the MD5 W&B computed of the file when the run logged it: it names these bytes, but auditor did not read them"
)
MANIFEST_MEANING = (
    "W&B's artifact digest, the MD5 of its manifest (every file's path and MD5) when the run logged it:"
    " it names this version of the files, but auditor did not read them"
)
NOTE = "W&B's artifact digests are MD5s W&B computed: kept as identity hints, not integrity hashes"


def md5_hex(digest: str) -> str | None:
    """W&B's base64 MD5 of a file as hex, or None when it is not one."""
    try:
        raw = base64.b64decode(digest, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 16 else None


def is_model(artifact: RawArtifact) -> bool:
    return artifact.type.lower().startswith("model")


def datasets_and_models(raw: RawRun, notes: list[str]) -> tuple[list[Dataset], list[ModelArtifact]]:
    taken: set[str] = set()
    datasets, models = [], []
    for artifact in raw.artifacts:
        address = "/".join(p for p in (raw.entity, raw.project, artifact.name) if p)
        hint = _hint(artifact)
        notes += _notes(artifact)
        annotations = _annotations(artifact)
        if is_model(artifact) and not artifact.used:
            models.append(
                ModelArtifact(
                    id=unique(safe_id(artifact.name, "model-"), taken),
                    path=address,
                    after=hint if hint is not None else Missing(reason="W&B recorded no digest"),
                    annotations=annotations,
                )
            )
            continue
        datasets.append(
            Dataset(
                id=unique(safe_id(artifact.name, "artifact-"), taken),
                role="input" if artifact.used else "output",
                uri=address,
                datasheet=Datasheet(),
                before=hint if artifact.used else None,
                after=None if artifact.used else hint,
                annotations=annotations,
            )
        )
    if raw.artifacts:
        notes.append(NOTE)
    return datasets, models


def _hint(artifact: RawArtifact) -> IdentityHint | None:
    files = artifact.entries
    if len(files) == 1 and files[0].ref is None and md5_hex(files[0].digest):
        return IdentityHint(tool=TOOL, algorithm="md5", value=md5_hex(files[0].digest) or "", meaning=FILE_MEANING)
    if artifact.digest:
        return IdentityHint(tool=TOOL, algorithm="wandb-manifest-md5", value=artifact.digest, meaning=MANIFEST_MEANING)
    return None


def _annotations(artifact: RawArtifact) -> dict[str, str]:
    out = {"wandb.artifact": artifact.name, "type": artifact.type}
    if artifact.used:
        out["use"] = "used by the run (use_artifact)"
    texts = {"digest": artifact.digest, "description": artifact.description, "metadata": artifact.metadata}
    texts |= {"aliases": ", ".join(artifact.aliases), "tags": ", ".join(artifact.tags)}
    out |= {k: v[:MAX_TEXT] for k, v in texts.items() if v and v != "{}"}
    if artifact.entries:
        out["files"] = str(len(artifact.entries))
        listed = []
        for entry in artifact.entries[:MAX_LISTED]:
            md5 = md5_hex(entry.digest)
            where = clean_url(entry.ref) if entry.ref else entry.path
            size = f"{entry.size} bytes, " if entry.size is not None else ""
            listed.append(f"{where} ({size}{'md5 ' + md5 if md5 else 'digest ' + entry.digest[:100]})")
        more = len(artifact.entries) - MAX_LISTED
        out["entries"] = "; ".join(listed) + (f"; and {more} more" if more > 0 else "")
        sizes = [e.size for e in artifact.entries if e.size is not None]
        if sizes:
            out["bytes"] = str(sum(sizes))
    return out


def _notes(artifact: RawArtifact) -> list[str]:
    if artifact.manifest_file:
        return [f"artifact {artifact.name!r}: W&B kept its manifest in a separate file; its files are not listed"]
    return []
