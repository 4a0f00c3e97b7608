"""Record sections for data lineage: declared datasets, content hashes, observed access.

Added in schema 1.1. A regulator asks where data came from, whether it is
documented, and whether the run used data nobody declared; these models carry
exactly that evidence, and every gap is an explicit value.
"""

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, SerializerFunctionWrapHandler, field_serializer, model_validator

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
    """SHA-256 of a file, or the tree hash of a folder (see auditor/capture/hashing.py).

    A dataset's `after` whose files are exactly those of its `before` (an input the run left
    unchanged) says so with `same_files_as: "before"` and is written with an empty `files`
    list (schema 1.7): a 20,000-file input no longer doubles the record. Read back, its `files`
    are the `before` list itself (see Dataset), so every reader sees the full list."""

    state: Literal["hashed"] = "hashed"
    kind: Literal["file", "tree"]
    sha256: str
    size: int = Field(description="Total bytes hashed")
    files: tuple[FileHash, ...] = Field(
        description="Every file and its own hash (written empty when `same_files_as` names another list)"
    )
    hashed_at: AwareDatetime
    same_files_as: Literal["before"] | None = Field(
        None,
        description="Only on a dataset's `after` (schema 1.7): its files are exactly those of the dataset's "
        "`before`, whose list stands for this one (written empty)",
    )

    # No return annotation on purpose: pydantic then documents `files` in the JSON Schema as the field's
    # own type (an array of FileHash); an annotation would replace that schema with its own.
    @field_serializer("files", mode="wrap")
    def _files_once(self, files: tuple[FileHash, ...], handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        return [] if self.same_files_as is not None else handler(files)


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

    @model_validator(mode="after")
    def _after_files_from_before(self) -> "Dataset":
        """An `after` that names `before`'s files must have before's hash, size and kind (it then takes that
        very list); written in full, its list must be that list. Never on `before` itself."""
        before, after = self.before, self.after
        if isinstance(before, ContentHash) and before.same_files_as is not None:
            raise ValueError("before.same_files_as: only an 'after' hash can name another list of files")
        if not isinstance(after, ContentHash) or after.same_files_as is None:
            return self
        if not isinstance(before, ContentHash):
            raise ValueError("after.same_files_as: 'before' names no list of files (the dataset has no before hash)")
        if (after.kind, after.sha256, after.size) != (before.kind, before.sha256, before.size):
            raise ValueError("after.same_files_as: 'before' has another hash, size or kind than this one")
        if after.files is not before.files:
            if after.files and after.files != before.files:
                raise ValueError("after.files: not the files of 'before', which after.same_files_as names")
            object.__setattr__(self, "after", after.model_copy(update={"files": before.files}))
        return self

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

    @model_validator(mode="after")
    def _own_files(self) -> "ModelArtifact":
        if isinstance(self.after, ContentHash) and self.after.same_files_as is not None:
            raise ValueError("after.same_files_as: a model has no 'before' list of files to name")
        return self


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
