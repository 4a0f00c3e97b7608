"""Record section for data documentation: a profile of each declared tabular dataset.

Added in schema 1.4. A datasheet says what the data is meant to be; a profile says what
the bytes auditor hashed hold: rows, columns and their types, missing values, the label's
balance per sensitive group, and how strongly each column is associated with each
sensitive column (a column strongly associated with, say, age can stand in for it).

Kept on the dataset's own entry (`Dataset.profile` in lineage.py), so a reader finds a
dataset's hash, datasheet and profile in one place. `None` there means "not a tabular
dataset", or one auditor did not hash (remote, absent, an ingested run's: its hash says why);
`Missing` means it should have been profiled and could not be, and why. A file of a folder
that could not be profiled is an `UnprofiledFile` beside the others.

Association measures (all in [0, 1], 1 = one column determines the other):
- Cramér's V, between two categorical columns: sqrt(chi² / (n · (min(r, c) − 1))) over
  their r × c contingency table, without bias correction (what
  `scipy.stats.contingency.association(table, method="cramer")` computes).
- Correlation ratio η, between a numeric and a categorical column: the square root of the
  share of the numeric column's variance explained by the categories,
  sqrt(Σ_g n_g (ȳ_g − ȳ)² / Σ_i (y_i − ȳ)²).
- |r|, the absolute Pearson correlation, between two numeric columns.
Rows where either value is missing (or infinite) are left out. A column counts as categorical
when it is text or boolean, or an integer column with at most `CATEGORICAL_MAX_DISTINCT`
values; a categorical column with more than 50 values (an id, free text) gets no association.
"""

from typing import Annotated, Literal

from pydantic import Field

from auditor.record.base import Frozen, Missing

ColumnKind = Literal["integer", "decimal number", "text", "date/time", "boolean", "other"]
Measure = Literal["cramers_v", "correlation_ratio", "pearson_abs"]
MEASURE_SYMBOLS: dict[str, str] = {"cramers_v": "V", "correlation_ratio": "η", "pearson_abs": "|r|"}
CATEGORICAL_MAX_DISTINCT = 10
PROXY_THRESHOLD = 0.3  # an association at least this strong makes a column a likely proxy


class ValueCount(Frozen):
    value: str = Field(description="As text, cut at 60 characters")
    count: int


class Association(Frozen):
    measure: Measure
    value: float = Field(ge=0, le=1)
    rows: int = Field(description="Rows where both values are present")


class ColumnProfile(Frozen):
    name: str
    kind: ColumnKind = Field(description="The type pyarrow inferred, in plain words")
    arrow_type: str = Field(description="The type pyarrow inferred, e.g. int64, string, timestamp[s]")
    missing: int = Field(description="Empty or null values")
    distinct: int | None = Field(description="Distinct values among the present ones; None for nested types")
    top: tuple[ValueCount, ...] = Field((), description="Most frequent values of a low-cardinality column")
    min: float | None = None
    median: float | None = None
    max: float | None = None
    earliest: str | None = Field(None, description="For date/time columns, ISO 8601")
    latest: str | None = None
    associations: dict[str, Association] = Field(
        default_factory=dict, description="Per sensitive column (see the module's definitions)"
    )


class GroupBalance(Frozen):
    attribute: str = Field(description="The sensitive column")
    group: str
    rows: int
    label_counts: dict[str, int] = Field(description="Rows per label value, among rows with a label")


class LabelBalance(Frozen):
    label_column: str
    favourable_label: str | None = Field(description="The label value that is the favourable outcome, when known")
    label_counts: dict[str, int] = Field(description="Rows per label value over the whole file")
    groups: tuple[GroupBalance, ...]
    notes: tuple[str, ...] = ()


class TableProfile(Frozen):
    """One tabular file, or its first rows."""

    state: Literal["profiled"] = "profiled"
    file: str = Field(description="Relative to the dataset's path ('' for a single file)")
    format: Literal["csv", "tsv", "parquet"]
    rows: int = Field(description="Rows profiled")
    complete: bool = Field(description="False when only the first `rows` rows were profiled")
    total_rows: int | None = Field(None, description="All rows, when known without reading them (Parquet)")
    limit: str | None = Field(None, description="Why profiling stopped early")
    column_count: int = Field(description="Columns in the file")
    columns: tuple[ColumnProfile, ...] = Field(description="The first columns (see `column_count`)")
    sensitive_columns: tuple[str, ...] = Field((), description="Found in the file; the associations are with these")
    model_outputs: tuple[str, ...] = Field(
        (), description="The predictions file's prediction and score columns: outputs, never flagged as proxies"
    )
    balance: LabelBalance | None = Field(None, description="None when no label column is in the file")
    notes: tuple[str, ...] = ()

    def column(self, name: str) -> ColumnProfile | None:
        return next((c for c in self.columns if c.name == name), None)


class UnprofiledFile(Frozen):
    """A tabular file auditor could not profile, and why."""

    state: Literal["unprofiled"] = "unprofiled"
    file: str
    reason: str


FileProfile = Annotated[TableProfile | UnprofiledFile, Field(discriminator="state")]


class DataProfile(Frozen):
    """The profiles of a dataset's tabular files: one for a file, one per tabular file for a folder."""

    state: Literal["profiled"] = "profiled"
    files: tuple[FileProfile, ...]
    notes: tuple[str, ...] = Field((), description="e.g. tabular files past the cap that were not profiled")


Profile = Annotated[DataProfile | Missing, Field(discriminator="state")]
# A run record, its lineage, a dataset's profile or a file's: read by duck typing, since
# lineage.py and models.py import this module.
Profiled = object


def associations_for(source: Profiled, column: str) -> dict[str, float]:
    """How strongly `column` is associated with each sensitive column, e.g. {"age_group": 0.87}.

    `source` is a run record, its lineage, one dataset's profile or one file's. Over several files
    (a folder's splits, or every dataset of a run) the strongest value is kept. Empty when the column
    or the profile is absent. The measure behind each value is in the profile."""
    out: dict[str, float] = {}
    for table in _tables(source):
        found = table.column(column)
        for sensitive, association in (found.associations if found else {}).items():
            out[sensitive] = max(out.get(sensitive, 0.0), association.value)
    return out


def likely_proxies(source: Profiled, threshold: float = PROXY_THRESHOLD) -> dict[str, dict[str, float]]:
    """Columns whose association with a sensitive column is at least `threshold`, other than the
    sensitive columns, the label and a predictions file's outputs: {column: {sensitive column:
    strength}}. `source` as for `associations_for`."""
    tables = _tables(source)
    sensitive = {s for t in tables for s in t.sensitive_columns}
    sensitive |= {t.balance.label_column for t in tables if t.balance}
    sensitive |= {c for t in tables for c in t.model_outputs}
    names = dict.fromkeys(c.name for t in tables for c in t.columns)
    out: dict[str, dict[str, float]] = {}
    for name in names:
        if name in sensitive:
            continue
        strong = {s: v for s, v in associations_for(source, name).items() if v >= threshold}
        if strong:
            out[name] = strong
    return out


def _tables(source: Profiled) -> list[TableProfile]:
    if isinstance(source, TableProfile):
        return [source]
    if isinstance(source, DataProfile):
        return [t for t in source.files if isinstance(t, TableProfile)]
    lineage = getattr(source, "lineage", source)  # a run record, or its lineage
    datasets = getattr(lineage, "datasets", None)
    if not isinstance(datasets, tuple):
        return []
    return [t for d in datasets for t in _tables(getattr(d, "profile", None))]
