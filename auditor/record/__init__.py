"""The run record: the one thing every other part of auditor is a function of."""

from auditor.record.io import dump_record, load_record, parse_record, record_digest
from auditor.record.models import SCHEMA_VERSION, Missing, RunRecord

__all__ = [
    "SCHEMA_VERSION",
    "Missing",
    "RunRecord",
    "dump_record",
    "load_record",
    "parse_record",
    "record_digest",
]
