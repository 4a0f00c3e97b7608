"""Record sections for data lineage: declared datasets, content hashes, observed access.

Added in schema 1.1. A regulator asks where data came from, whether it is
documented, and whether the run used data nobody declared; these models carry
exactly that evidence, and every gap is an explicit value.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from auditor.record.base import Frozen, Missing
from auditor.record.profile import Profile

DatasetRole = Literal["input", "output", "intermediate"]


# The fields every datasheet needs to count as documented (a rule pack may ask for more). Besides
# these, a datasheet must say whether the data is personal, and for personal data its legal basis.
REQUIRED_DATASHEET_FIELDS = ("description", "source", "owner", "licence")
Documentation = Literal["documented", "partly documented", "undocumented"]


class Datasheet(Frozen):
    """Documentation of one dataset, after Gebru et al., "Datasheets for Datasets"."""

    description: str | None = None
    source: str | None = Field(None, description="Where the data came from (provenance)")
    owner: str | None = None
    licence: str | None = None
    collection_period: str | None = None
    collection_process: str | None = Field(None, description="How it was obtained and selected")
    preprocessing: str | None = Field(None, description="Preprocessing, cleaning and labelling")
    personal_data: bool | None = Field(None, description="Whether it contains personal data")
    legal_basis: str | None = Field(None, description="Legal basis for processing personal data")
    limitations: str | None = Field(None, description="Known limitations and biases")

    def missing_fields(self, required: tuple[str, ...] = REQUIRED_DATASHEET_FIELDS) -> tuple[str, ...]:
        """What this datasheet lacks to count as documented: the required fields, the statement of
        whether the data is personal, and for personal data its legal basis. The one definition the
        lineage graph, the terminal, the dossier and the `datasets_documented` rule all use."""
        return tuple(f for f in self._needed(required) if getattr(self, f, None) in (None, ""))

    def documentation(self, required: tuple[str, ...] = REQUIRED_DATASHEET_FIELDS) -> Documentation:
        """documented (nothing missing), undocumented (none of the fields it needs is given), else partly."""
        if not self.missing_fields(required):
            return "documented"
        given = any(getattr(self, f, None) not in (None, "") for f in (*required, "personal_data", "legal_basis"))
        return "partly documented" if given else "undocumented"

    def _needed(self, required: tuple[str, ...]) -> tuple[str, ...]:
        if self.personal_data is None:
            return (*required, "personal_data")
        return (*required, "legal_basis") if self.personal_data else required


class FileHash(Frozen):
    path: str = Field(description="Relative to the dataset's path ('' for a single file)")
    sha256: str
    size: int


class ContentHash(Frozen):
    """SHA-256 of a file, or the tree hash of a folder (see auditor/capture/hashing.py)."""

    state: Literal["hashed"] = "hashed"
    kind: Literal["file", "tree"]
    sha256: str
    size: int = Field(description="Total bytes hashed")
    files: tuple[FileHash, ...] = Field(description="Every file and its own hash")
    hashed_at: AwareDatetime


class AbsentPath(Frozen):
    state: Literal["absent"] = "absent"
    path: str


class IdentityHint(Frozen):
    """A digest another tool recorded: it names a version of the data, it does not prove its bytes.

    MLflow's dataset digest fingerprints a sample of the data for display; DVC's MD5 is a
    weak hash. Rules that need an integrity hash treat a hint as "not hashed"."""

    state: Literal["identity_hint"] = "identity_hint"
    tool: str
    algorithm: str = Field(description="e.g. 'mlflow-dataset-digest', 'md5', 'md5-dir'")
    value: str
    meaning: str = Field(description="What the value does and does not prove")


Hash = Annotated[ContentHash | AbsentPath | IdentityHint | Missing, Field(discriminator="state")]


class Column(Frozen):
    name: str
    type: str | None = None
    description: str | None = None


class Assertion(Frozen):
    """A data-quality assertion the source tool recorded about a dataset (OpenLineage's
    dataQualityAssertions facet, schema 1.5): what was asserted, on which column, and whether it held."""

    assertion: str = Field(description="As the tool named it, e.g. 'not_null'")
    column: str | None = Field(None, description="None for an assertion on the whole dataset")
    success: bool
    source: str = Field(description="Where it was recorded, e.g. 'OpenLineage dataQualityAssertions'")


class Dataset(Frozen):
    id: str
    role: DatasetRole
    path: str | None = Field(None, description="Relative to the project root")
    uri: str | None = Field(None, description="For data that is not a local path")
    datasheet: Datasheet
    before: Hash | None = Field(None, description="Hash before the run (inputs and intermediates)")
    after: Hash | None = Field(None, description="Hash after the run (outputs and intermediates)")
    columns: tuple[Column, ...] = Field((), description="The schema, when the source tool recorded one")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Other facts a source tool recorded (version, lifecycle, context...)"
    )
    profile: Profile | None = Field(
        None, description="What a tabular dataset holds (schema 1.4); None for other data (see record/profile.py)"
    )
    assertions: tuple[Assertion, ...] = Field((), description="Data-quality assertions recorded by the source tool")

    @property
    def is_code(self) -> bool:
        """A pipeline's source-code dependency (DVC lists scripts such as src/train.py with the data):
        not data, so never documented, compared or linked as a dataset (the record's `code` holds it)."""
        return self.annotations.get("dvc.kind") == "code"


class Step(Frozen):
    name: str
    command: str
    inputs: tuple[str, ...] = Field(description="Dataset ids")
    outputs: tuple[str, ...] = Field(description="Dataset ids")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Other facts a source tool recorded (SQL, source code, parameters...)"
    )


class ModelArtifact(Frozen):
    id: str
    path: str
    after: Hash | None = None
    annotations: dict[str, str] = Field(default_factory=dict, description="e.g. an MLflow model's flavors")


class ProjectInfo(Frozen):
    name: str
    owner: str | None = None
    intended_use: str | None = None
    out_of_scope_uses: tuple[str, ...] = ()


AccessVerdict = Literal["declared_read", "declared_unread", "undeclared_read", "written"]


class FileAccess(Frozen):
    path: str = Field(description="Relative to the project root when inside it, else absolute")
    read: bool
    written: bool
    dataset: str | None = Field(description="The declared dataset or model this file belongs to")
    verdicts: tuple[AccessVerdict, ...]


class Observation(Frozen):
    state: Literal["captured"] = "captured"
    method: Literal["audit-hook", "tree-diff"] = Field(
        description="audit-hook: every open() in the command's Python processes; "
        "tree-diff: files created or changed in the project tree (non-Python commands)"
    )
    processes: int = Field(description="Python processes that reported (0 for tree-diff)")
    files: tuple[FileAccess, ...]
    declared_unread: tuple[str, ...] = Field(description="Declared input datasets no process read")
    environment_reads: dict[str, int] = Field(
        description="Reads under the interpreter's own prefixes and site-packages, counted per prefix"
    )


class Lineage(Frozen):
    state: Literal["captured"] = "captured"
    spec_path: str | None = Field(description="auditor.yaml relative to the project root; None without one")
    spec_sha256: str | None
    project: ProjectInfo
    datasets: tuple[Dataset, ...]
    steps: tuple[Step, ...]
    models: tuple[ModelArtifact, ...]
    observed: Annotated[Observation | Missing, Field(discriminator="state")]
    graph: dict[str, Any] = Field(description="networkx node-link JSON of datasets, steps, run and models")
    notes: tuple[str, ...] = Field((), description="Problems met while capturing lineage")
    unmatched: tuple[str, ...] = Field(
        (), description="auditor.yaml entries (datasets, models, predictions) that nothing an ingested run used matched"
    )
