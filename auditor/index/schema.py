"""The run index's tables, one SQL layer (SQLAlchemy Core) for SQLite and PostgreSQL alike.

Every row carries `store_id`, so one PostgreSQL database can index several stores (machines, CI):
a store is identified by the SHA-256 of its log's first entry, which names the store's first run
(an 80-bit random ULID) and its record's digest: unique per store, and the same on every machine
that reads that store. A copy of a store (cp -r) has the same identity as long as their logs
agree; once they differ, each reader sees the other's rows as a log that is not a prefix of its
own and rebuilds: point copies that live on at different index URLs.

`runs`, `packages`, `datasets` and `pending` are derived from the records and rebuilt from them;
`checks` is not (a check's outcome is not in any record) and survives a rebuild.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, String, Table, Text

FORMAT_VERSION = 2  # bump when rows change meaning: an index of another format is rebuilt (checks kept);
# a change of columns takes new table names, so an older auditor sharing the database keeps its own
# 2: auditor_ingests (an index of format 1 has no rows there: rebuilt, never read as "no ingests")

metadata = MetaData()

meta = Table(
    "auditor_meta",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("format_version", Integer, nullable=False),
    Column("summary_version", Integer, nullable=False),
    Column("log_size", BigInteger, nullable=False),  # log entries covered
    Column("log_root", String(64), nullable=False),  # the tree's root at log_size: still a prefix?
    # the SHA-256 of log/entries' first log_size lines (entries_end bytes): an entry edited in place
    # or a truncated log makes the next reader rebuild, which verifies every run again
    Column("entries_end", BigInteger, nullable=False),
    Column("entries_sha256", String(64), nullable=False),
    Column("root", Text, nullable=False),  # where the store was last seen (informative only)
    # runs/ as it was when `strays` was listed: while its stat is the same, no folder came or went
    Column("dir_ino", BigInteger),
    Column("dir_mtime_ns", BigInteger),
    Column("dir_ctime_ns", BigInteger),
)

# log/entries as it was (stat taken before it was read) when its first entries_end bytes last gave
# the meta's digest: while its stat is the same, the file did not change and readers do not hash it
# again (~15 ms at 100,000 entries). Kept only for a file whose times are older than that reading
# by more than file systems' timestamp granularity (SETTLED_NS), so an edit in the same clock tick
# cannot keep the stat; a table of its own, so an index written before it is used as it is
entries_seen = Table(
    "auditor_entries_seen",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("entries_end", BigInteger, nullable=False),
    Column("entries_sha256", String(64), nullable=False),
    Column("st_ino", BigInteger, nullable=False),
    Column("st_size", BigInteger, nullable=False),
    Column("st_mtime_ns", BigInteger, nullable=False),
    Column("st_ctime_ns", BigInteger, nullable=False),
)

runs = Table(
    "auditor_runs",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("run_id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),  # the record entry's index in the log
    Column("record_sha256", String(64), nullable=False),
    Column("project", Text, nullable=False),
    Column("owner", Text),
    Column("status", String(32), nullable=False),
    Column("started_ts", Float, nullable=False),  # epoch seconds (UTC), for --since/--until
    Column("reproduces", String(64)),
    # record.json as it was when verified: a record whose stat differs is verified again
    Column("folder_ino", BigInteger, nullable=False),
    Column("st_ino", BigInteger, nullable=False),
    Column("st_size", BigInteger, nullable=False),
    Column("st_mtime_ns", BigInteger, nullable=False),
    Column("st_ctime_ns", BigInteger, nullable=False),
    Column("summary", Text, nullable=False),  # RunSummary.to_json()
    Index("auditor_runs_project", "store_id", "project"),
    Index("auditor_runs_owner", "store_id", "owner"),
    Index("auditor_runs_started", "store_id", "started_ts"),
    Index("auditor_runs_reproduces", "store_id", "reproduces"),
)

packages = Table(
    "auditor_packages",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("name", Text, nullable=False),  # canonical
    Column("version", Text, nullable=False),
    Index("auditor_packages_pin", "store_id", "name", "version"),
    Index("auditor_packages_run", "store_id", "run_id"),
)

datasets = Table(
    "auditor_datasets",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("key", Text, nullable=False),  # a content key the run's dataset had before or after it
    Index("auditor_datasets_key", "store_id", "key"),
    Index("auditor_datasets_run", "store_id", "run_id"),
)

# each indexed ingested run's origin, so `auditor ingest` finds the earlier ingests of the source runs
# it reads without reading every record (auditor.ingest.store.existing_ingests verifies each run
# found here before it counts). Text as db_text gives it: a lookup matches db_text of the key
ingests = Table(
    "auditor_ingests",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("run_id", String(64), primary_key=True),
    Column("tool", Text),
    Column("source_uri", Text),
    Column("source_run_id", Text),
    Column("reingests", Text),  # links.reingests
    Index("auditor_ingests_source", "store_id", "source_run_id"),
)

# record entries of the log whose folder was not in runs/ when they were indexed (a commit between
# its log entry and its rename, or a crash between them): looked for again by every reader
pending = Table(
    "auditor_pending",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("run_id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

# folders of runs/ the index did not hold when runs/ was last listed (planted, refused, or
# committed after a sync): verified again by every listing, so each is still reported
strays = Table(
    "auditor_strays",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("name", Text, primary_key=True),
)

checks = Table(
    "auditor_checks",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("run_id", String(64), primary_key=True),
    Column("context", String(128), primary_key=True),
    Column("record_sha256", String(64), nullable=False),
    Column("policy", Text, nullable=False),
    Column("verdict", String(32), nullable=False),
    Column("failing", Text, nullable=False),  # JSON: severity -> failing findings
    Column("could_not", Integer, nullable=False),
    Column("waived", Integer, nullable=False),
    Column("findings_digest", String(64), nullable=False),
    Column("checked_at", Text),  # ISO 8601, aware
    Column("checked_ts", Float, nullable=False),
)

DERIVED = (runs, packages, datasets, ingests, pending, strays, entries_seen)  # rebuilt from the records
