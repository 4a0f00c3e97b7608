"""Values under secret-looking names, masked in an ingested record before it is written.

Everything ingested is untrusted, and token shapes alone (what `TextRedactor` finds) miss a
password under a plain name: `db_password`, `AWS_SECRET_ACCESS_KEY`, `fs.s3a.secret.key`. The rule
and the masking are capture's (capture/secretnames.py), so a captured run's logged params and an
ingested run's params are masked by the same list of names.
"""

from __future__ import annotations

from auditor.capture.secretnames import SECRET_MASK, mask_named

__all__ = ["SECRET_MASK", "mask_named"]
