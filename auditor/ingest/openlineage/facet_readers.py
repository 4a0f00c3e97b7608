"""Readers for the standard OpenLineage facets: which fields the record uses, and under what key.

Dataset facets fill the datasheet (`description`, `owner`, `source`), the columns, the
data-quality assertions (assertions.py) and the dataset's annotations; job facets give the step
its command and annotations and the run its reported source; run facets give the error, tags
and parameters. Environment variable values are never kept:
they are where secrets live, and the names say what was configured.
"""

from __future__ import annotations

from collections.abc import Mapping

from auditor.ingest.openlineage.assertions import read_assertions
from auditor.ingest.openlineage.facets import (
    LONG_CHARS,
    TRACE_CHARS,
    At,
    Facts,
    Reader,
    as_object,
    clip,
    compact,
    items,
    number,
    present,
    text,
    url,
)
from auditor.record.lineage import Column

MAX_COLUMNS = 10_000
MAX_DEPTH = 32


# --- dataset facets ----------------------------------------------------------


def _schema(facet: dict[str, object], at: At) -> Facts:
    columns: list[Column] = []
    dropped = 0

    def walk(parent: Mapping[str, object], prefix: str, at: At, depth: int) -> None:
        nonlocal dropped
        for field_at, item in items(parent, "fields", at):
            name = text(item, "name", field_at)
            if name is None:
                raise (field_at / "name").fail("missing")
            if len(columns) >= MAX_COLUMNS:
                dropped += 1
                continue
            columns.append(
                Column(
                    name=prefix + name,
                    type=text(item, "type", field_at),
                    description=text(item, "description", field_at),
                )
            )
            if depth < MAX_DEPTH:
                walk(item, f"{prefix}{name}.", field_at, depth + 1)

    walk(facet, "", at, 0)
    values = {"schema.columns_not_kept": str(dropped)} if dropped else {}
    return Facts(values=values, columns=tuple(columns))


def _owners(facet: dict[str, object], at: At) -> Facts:
    owners = []
    for owner_at, owner in items(facet, "owners", at):
        name, kind = text(owner, "name", owner_at), text(owner, "type", owner_at)
        if name:
            owners.append(f"{name} ({kind})" if kind else name)
    return Facts(values={"owner": ", ".join(owners)} if owners else {})


def _documentation(facet: dict[str, object], at: At) -> Facts:
    return Facts(present(description=text(facet, "description", at), content_type=text(facet, "contentType", at)))


def _data_source(facet: dict[str, object], at: At) -> Facts:
    name, uri = text(facet, "name", at), url(facet, "uri", at)
    source = f"{name} ({uri})" if name and uri else (uri or name)
    return Facts(present(source=source, data_source__name=name, data_source__uri=uri))


def _lifecycle(facet: dict[str, object], at: At) -> Facts:
    change = text(facet, "lifecycleStateChange", at)
    previous = facet.get("previousIdentifier")
    if previous is not None and change is not None:
        before = as_object(previous, at / "previousIdentifier")
        ns, name = text(before, "namespace", at / "previousIdentifier"), text(before, "name", at / "previousIdentifier")
        change += f" (previously {ns}/{name})"
    return Facts(present(lifecycle=change))


def _storage(facet: dict[str, object], at: At) -> Facts:
    layer, fmt = text(facet, "storageLayer", at), text(facet, "fileFormat", at)
    return Facts(present(storage=" ".join(p for p in (layer, f"({fmt})" if fmt else None) if p) or None))


def _quality(facet: dict[str, object], at: At) -> Facts:
    values = present(
        data_quality__row_count=number(facet, "rowCount", at),
        data_quality__bytes=number(facet, "bytes", at),
        data_quality__file_count=number(facet, "fileCount", at),
        data_quality__last_updated=text(facet, "lastUpdated", at),
    )
    if facet.get("columnMetrics") is not None:
        values["data_quality.column_metrics"] = compact(as_object(facet["columnMetrics"], at / "columnMetrics"))
    return Facts(values)


def _statistics(facet: dict[str, object], at: At) -> Facts:
    return Facts(
        present(
            statistics__row_count=number(facet, "rowCount", at),
            statistics__bytes=number(facet, "size", at),
            statistics__file_count=number(facet, "fileCount", at),
        )
    )


def _version(facet: dict[str, object], at: At) -> Facts:
    return Facts(present(version=text(facet, "datasetVersion", at)))


DATASET_FACETS: dict[str, Reader] = {
    "schema": _schema,
    "documentation": _documentation,
    "ownership": _owners,
    "dataSource": _data_source,
    "version": _version,
    "lifecycleStateChange": _lifecycle,
    "storage": _storage,
    "dataQualityMetrics": _quality,
    "dataQualityAssertions": read_assertions,
    "inputStatistics": _statistics,
    "outputStatistics": _statistics,
}


# --- job facets ----------------------------------------------------------------


def _sql(facet: dict[str, object], at: At) -> Facts:
    return Facts(present(sql=text(facet, "query", at, LONG_CHARS), sql__dialect=text(facet, "dialect", at)))


def _source_code(facet: dict[str, object], at: At) -> Facts:
    code = text(facet, "sourceCode", at, LONG_CHARS)
    return Facts(present(source_code=code, source_code__language=text(facet, "language", at)))


def _location(facet: dict[str, object], at: At) -> Facts:
    return Facts(
        present(
            location__type=text(facet, "type", at),
            location__url=url(facet, "url", at),
            location__repo_url=url(facet, "repoUrl", at),
            location__path=text(facet, "path", at),
            location__version=text(facet, "version", at),
            location__branch=text(facet, "branch", at),
            location__tag=text(facet, "tag", at),
        )
    )


def _job_type(facet: dict[str, object], at: At) -> Facts:
    parts = [text(facet, k, at) for k in ("processingType", "integration", "jobType")]
    return Facts(present(job_type=" / ".join(p for p in parts if p) or None))


def _tags(facet: dict[str, object], at: At) -> Facts:
    values = {}
    for tag_at, tag in items(facet, "tags", at):
        key = text(tag, "key", tag_at)
        if key:
            values[f"tag.{key}"] = text(tag, "value", tag_at) or ""
    return Facts(values)


JOB_FACETS: dict[str, Reader] = {
    "sql": _sql,
    "sourceCode": _source_code,
    "sourceCodeLocation": _location,
    "documentation": _documentation,
    "ownership": _owners,
    "jobType": _job_type,
    "tags": _tags,
}


# --- run facets ----------------------------------------------------------------


def _error(facet: dict[str, object], at: At) -> Facts:
    return Facts(
        present(
            error__message=text(facet, "message", at),
            error__language=text(facet, "programmingLanguage", at),
            error__stack_trace=text(facet, "stackTrace", at, TRACE_CHARS),
        )
    )


def _nominal(facet: dict[str, object], at: At) -> Facts:
    start, end = text(facet, "nominalStartTime", at), text(facet, "nominalEndTime", at)
    return Facts(present(nominal_start_time=start, nominal_end_time=end))


def _run_and_job(facet: dict[str, object], at: At, prefix: str) -> dict[str, str]:
    run = as_object(facet.get("run", {}), at / "run")
    job = as_object(facet.get("job", {}), at / "job")
    ns, name = text(job, "namespace", at / "job"), text(job, "name", at / "job")
    return present(
        **{f"{prefix}__run_id": text(run, "runId", at / "run"), f"{prefix}__job": f"{ns}/{name}" if name else None}
    )


def _parent(facet: dict[str, object], at: At) -> Facts:
    values = _run_and_job(facet, at, "parent")
    if facet.get("root") is not None:
        values |= _run_and_job(as_object(facet["root"], at / "root"), at / "root", "root")
    return Facts(values)


def _engine(facet: dict[str, object], at: At) -> Facts:
    name, version = text(facet, "name", at), text(facet, "version", at)
    engine = " ".join(p for p in (name, version) if p) or None
    return Facts(present(processing_engine=engine, adapter_version=text(facet, "openlineageAdapterVersion", at)))


def _parameters(facet: dict[str, object], at: At) -> Facts:
    values = {}
    for param_at, param in items(facet, "parameters", at):
        key = text(param, "key", param_at)
        if key:
            values[f"param.{key}"] = text(param, "value", param_at) or ""
    return Facts(values)


def _environment(facet: dict[str, object], at: At) -> Facts:
    names = [text(v, "name", v_at) or "" for v_at, v in items(facet, "environmentVariables", at)]
    return Facts(present(environment_variables=clip(", ".join(sorted(set(names) - {""}))) or None))


def _extraction(facet: dict[str, object], at: At) -> Facts:
    failed, total = number(facet, "failedTasks", at), number(facet, "totalTasks", at)
    messages = [text(e, "errorMessage", e_at) or "" for e_at, e in items(facet, "errors", at)]
    summary = f"{failed or '?'} of {total or '?'} extraction tasks failed: " + "; ".join(m for m in messages if m)
    return Facts({"extraction_error": clip(summary)})


RUN_FACETS: dict[str, Reader] = {
    "errorMessage": _error,
    "nominalTime": _nominal,
    "parent": _parent,
    "processing_engine": _engine,
    "tags": _tags,
    "executionParameters": _parameters,
    "environmentVariables": _environment,
    "extractionError": _extraction,
}
