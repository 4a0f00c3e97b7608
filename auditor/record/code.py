"""Record section for the code a run executed (schema 1.6): each file's hash and a fingerprint.

The fingerprint is a MinHash signature of the file's token shingles after identifiers, strings
and numbers are replaced by their kind and comments dropped (capture/codeprint.py), so two files
that differ only in names, literals, comments or layout have near-identical signatures. It is what
duplicate-work detection compares across projects; the hash is what proves which bytes ran.
"""

from typing import Literal

from pydantic import Field

from auditor.record.base import Frozen

CodeLanguage = Literal["python", "notebook", "sql", "r", "shell", "other"]


class CodeFile(Frozen):
    path: str = Field(description="Relative to the project root when inside it, else as the tool named it")
    sha256: str
    size: int = Field(ge=0)
    language: CodeLanguage
    tokens: int = Field(ge=0, description="Tokens the fingerprint was taken over")
    minhash: tuple[int, ...] = Field(
        description="MinHash signature (32-bit values) of normalised token shingles; empty when the file is too short"
    )


class Code(Frozen):
    state: Literal["captured"] = "captured"
    method: str = Field(description="How the files were found, e.g. 'read by the command', 'DVC stage dependencies'")
    fingerprint: str = Field(description="The fingerprint's scheme and parameters, e.g. 'minhash-64/shingle-5/v1'")
    files: tuple[CodeFile, ...]
    notes: tuple[str, ...] = Field((), description="Files that could not be read or fingerprinted, named")
