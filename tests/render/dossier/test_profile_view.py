"""The datasheets' profiles in the dossier: what a reader sees, from records with every kind of profile."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from auditor.capture.profile import Roles, profile_dataset
from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.packs import load_pack, packs_folder
from auditor.check.vulns.sources import SourceChoice
from auditor.record.base import Missing
from auditor.record.lineage import ContentHash, Dataset, Datasheet, FileHash
from auditor.record.profile import DataProfile, TableProfile
from auditor.render.dossier.build import build_dossier, default_drawing
from auditor.render.dossier.html import render_html
from auditor.render.dossier.views_profile import profile_view
from tests.conftest import FIXTURES
from tests.factories import make_record
from tests.render.dossier.test_diagram import pipeline

FIXED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def hashed(sha: str) -> ContentHash:
    return ContentHash(
        kind="file", sha256=sha, size=10, files=(FileHash(path="", sha256=sha, size=10),), hashed_at=FIXED
    )


def applicants(rows: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    age = rng.integers(18, 75, rows)
    return pd.DataFrame(
        {
            "age": age,
            "age_group": np.where(age < 25, "<25", "25+"),
            "<b>income</b>": rng.normal(3000, 900, rows).round(2),
            "sex": rng.choice(["female", "male"], rows),
            "risk": rng.integers(0, 2, rows),
        }
    )


def datasheets(tmp_path: Path) -> str:
    """The datasheets section of a dossier whose lineage holds a file, a copy of it, a folder of splits,
    an older record's missing profile and a non-tabular dataset."""
    frame = applicants()
    frame.to_csv(tmp_path / "all.csv", index=False)
    (tmp_path / "split").mkdir()
    frame.iloc[:450].to_csv(tmp_path / "split" / "train.csv", index=False)
    frame.iloc[450:].to_csv(tmp_path / "split" / "test.csv", index=False)
    (tmp_path / "split" / "broken.csv").write_bytes(b"\0\0\0")
    roles = Roles(label="risk", sensitive=("age_group", "sex"), favourable="1")
    whole, split = profile_dataset(tmp_path / "all.csv", roles), profile_dataset(tmp_path / "split", roles)
    sheet = Datasheet(description="Applicants", personal_data=True)
    lineage = pipeline()
    datasets = (
        Dataset(id="all", role="input", path="all.csv", datasheet=sheet, before=hashed("a" * 64), profile=whole),
        Dataset(id="copy", role="input", path="copy.csv", datasheet=sheet, before=hashed("a" * 64), profile=whole),
        Dataset(id="split", role="intermediate", path="split", datasheet=sheet, after=hashed("b" * 64), profile=split),
        Dataset(
            id="old",
            role="input",
            path="old.csv",
            datasheet=sheet,
            profile=Missing(reason="record schema 1.3 predates data profiles"),
        ),
        Dataset(id="params", role="input", path="params.yaml", datasheet=sheet, before=hashed("c" * 64)),
    )
    record = make_record().model_copy(update={"lineage": lineage.model_copy(update={"datasets": datasets})})
    report = run_check(
        CheckRequest(
            record=record,
            record_path=Path("record.json"),
            record_sha256="ab" * 32,
            pack=load_pack(packs_folder() / "default.yaml"),
            fail_on="low",
            location="auditor.yaml",
            now=FIXED,
            vuln_source=SourceChoice(source="local", database=FIXTURES / "advisories" / "small"),
            cache_dir=tmp_path / "cache",
        )
    )
    page = render_html(build_dossier(record, report, (), (), FIXED, default_drawing(), (), ()))
    return page[page.index('<section id="datasheets">') : page.index("</section>", page.index('id="datasheets"'))]


def sheet_of(section: str, dataset: str) -> str:
    start = section.index(f'<span class="mono">{dataset}</span>')
    end = section.find('<div class="datasheet">', start)
    return section[start : end if end > 0 else len(section)]


def text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


def test_each_tabular_dataset_shows_its_profile_once(tmp_path: Path) -> None:
    section = datasheets(tmp_path)
    frame = applicants()
    whole = text(sheet_of(section, "all"))
    assert "Profile: 600 rows × 5 columns, no missing values" in whole
    counts = frame.sex.value_counts()
    assert f"sex text {counts.index[0]}: {counts.iloc[0]} · {counts.index[1]}: {counts.iloc[1]}" in whole
    assert f"age integer min {frame.age.min()} · median {frame.age.median():g} · max {frame.age.max()}" in whole
    good = frame.groupby("sex").risk.mean()
    for sex, share in good.items():
        assert f"sex: {sex} {(frame.sex == sex).sum()} {share:.1%}" in whole
    assert f"all rows 600 {frame.risk.mean():.1%}" in whole
    assert "age is strongly associated with age_group (η = " in whole and "a likely proxy" in whole
    assert "&lt;b&gt;income&lt;/b&gt;" in sheet_of(section, "all") and "<b>income</b>" not in section  # escaped

    assert "Profile: the same bytes as all : its profile above applies." in text(sheet_of(section, "copy"))
    assert "Profile: record schema 1.3 predates data profiles" in text(sheet_of(section, "old"))
    assert "Profile" not in text(sheet_of(section, "params"))  # not tabular: no profile, no noise

    split = sheet_of(section, "split")
    assert split.count('class="grid profile-columns split"') == 1  # one table for both files
    words = text(split)
    assert "Profile: 150 rows (test.csv) and 450 rows (train.csv) × 5 columns, no missing values" in words
    assert "Not profiled: broken.csv: could not profile: binary data, not text" in words
    test_share = frame.iloc[450:].risk.mean()
    assert f"all rows 150 {test_share:.1%} 450 {frame.iloc[:450].risk.mean():.1%}" in words


def test_a_profile_with_gaps_and_a_prefix_says_so(tmp_path: Path) -> None:
    frame = applicants(50)
    frame.loc[::5, "sex"] = None
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    profile = profile_dataset(tmp_path / "gaps.csv", Roles(label="risk", sensitive=("sex",)))
    assert isinstance(profile, DataProfile)
    table = profile.files[0]
    assert isinstance(table, TableProfile)
    view = profile_view(profile)
    assert view.headline == "50 rows × 5 columns, 10 missing values in 1 column"
    (shown,) = view.tables
    assert shown.gaps and [c.missing for c in shown.columns if c.name == "sex"] == ["10 (20.0%)"]
    assert shown.balance_head == "risk values"  # no favourable label known: the label's shares
    assert any(r.group == "sex: (missing)" and r.cells[0] == "10" for r in shown.balance)
    prefix = table.model_copy(update={"complete": False, "limit": "the first 50 rows", "total_rows": 900})
    assert profile_view(DataProfile(files=(prefix,))).headline.startswith(
        "the first 50 rows of 900 (the first 50 rows) × 5 columns"
    )
