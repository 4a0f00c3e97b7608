"""The dossier's model card section: what it shows, where each fact came from, and that untrusted text
stays text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.packs import load_pack, packs_folder
from auditor.check.vulns.sources import SourceChoice
from auditor.record.base import Missing
from auditor.record.model_card import ClassifierPerformance
from auditor.render.dossier.build import build_dossier, default_drawing
from auditor.render.dossier.build_model import model_card as model_card_view
from auditor.render.dossier.html import SECTIONS, render_html
from auditor.render.dossier.views_model import ModelCardView
from tests.conftest import FIXTURES
from tests.factories import make_record
from tests.render.dossier.model_card_data import model_card

FIXED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _html(tmp_path: Path, **update: object) -> str:
    record = make_record().model_copy(update=update)
    request = CheckRequest(
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
    report = run_check(request)
    return render_html(build_dossier(record, report, (), (), FIXED, default_drawing(), (), ()))


def _section(html: str) -> str:
    start = html.index('<section id="model-card">')
    return html[start : html.index("</section>", start)]


def test_the_section_follows_the_summary_and_shows_the_evidence(tmp_path: Path) -> None:
    card = model_card()
    html = _html(tmp_path, model_card=card)
    anchors = [anchor for anchor, _ in SECTIONS]
    assert anchors.index("model-card") == anchors.index("summary") + 1
    assert html.index('<section id="summary"') < html.index('<section id="model-card"') < html.index('id="identity"')
    section = _section(html)
    for heading in (
        "Model details: scorer",
        "Intended use",
        "Factors: inputs of scorer",
        "Metrics and evaluation data",
        "Quantitative analyses",
        "Hyperparameters",
        "Ethical considerations",
        "Caveats and limitations",
    ):
        assert f"<h2>{heading}</h2>" in section, heading
    perf = card.performance
    assert isinstance(perf, ClassifierPerformance)
    accuracy = next(e for e in perf.estimates if e.name == "accuracy")
    assert f"{accuracy.value:.3f}" in section and f"[{accuracy.ci_low:.3f}, {accuracy.ci_high:.3f}]" in section
    assert "(read from the model file)" in section and "in a Pipeline: StandardScaler on 2 columns" in section
    assert "0.4 (params.yaml: train.decision_threshold)" in section
    assert "sensitive attribute is a direct model input" in section  # age, for the sensitive column age_group
    assert "differs: auditor computed" in section  # metrics.json's accuracy 0.6 is not what the rows give
    assert "n_test</span> = 120" in section  # a metrics-file value auditor does not compute, shown once
    assert f"{perf.confusion[1][1]} (TP)" in section
    assert "seed = 42; train.C = 0.5" in section and "C=0.5, random_state=42" in section
    assert section.count("<svg") == 2 and 'aria-label="ROC curve' in section


def test_untrusted_text_stays_text(tmp_path: Path) -> None:
    section = _section(_html(tmp_path, model_card=model_card()))
    assert "<script>" not in section and "&lt;script&gt;x&lt;/script&gt;" in section
    assert "<b>scoring</b>" not in section and "&lt;b&gt;scoring&lt;/b&gt;" in section


def test_the_charts_are_labelled_svg_with_readable_text() -> None:
    view = model_card_view(make_record().model_copy(update={"model_card": model_card()}))
    assert len(view.charts) == 2
    for chart in view.charts:
        root = ET.fromstring(str(chart.markup))  # noqa: S314 - auditor's own SVG
        ns = "{http://www.w3.org/2000/svg}"
        assert root[0].tag == f"{ns}title" and root[1].tag == f"{ns}desc" and root.get("aria-label")
        sizes = [float(t.get("font-size", "0")) for t in root.iter(f"{ns}text")]
        assert sizes and min(sizes) >= 10  # 7.5 pt in print at the chart's own size


def test_missing_evidence_says_why(tmp_path: Path) -> None:
    absent = _section(_html(tmp_path, model_card=Missing(reason="record schema 1.3 predates model card capture")))
    assert "predates model card capture" in absent and "<h2>" not in absent
    card = model_card().model_copy(update={"performance": Missing(reason="no predictions file declared")})
    section = _section(_html(tmp_path, model_card=card))
    assert "Performance not computed: not captured: no predictions file declared" in section
    assert "accuracy</span> = 0.6" in section  # the metrics file is still shown


def test_the_reproducibility_section_points_to_the_metrics_file(tmp_path: Path) -> None:
    html = _html(tmp_path, model_card=model_card(), metrics=())
    reproducibility = html[html.index('<section id="reproducibility">') :]
    assert "No metrics were logged." not in reproducibility
    assert re.search(
        r"model card</a> for auditor's own computation and the declared metrics file: metrics\.json", reproducibility
    )
    assert "No parameters were logged." not in _html(tmp_path, model_card=model_card(), params={})


def test_a_view_without_a_model_card() -> None:
    assert model_card_view(make_record()) == ModelCardView(missing="not captured: the record has no model card section")


def test_a_regressor_shows_error_metrics_against_the_mean_and_a_residual_plot(tmp_path: Path) -> None:
    from auditor.capture.model.performance import Columns, regression_performance

    rows = "y,yhat\n" + "".join(f"{i * 1.5},{i * 1.4 + (i % 3)}\n" for i in range(60))
    perf = regression_performance(rows.encode(), "r.csv", Columns("y", "yhat", None, "1"), resamples=50, seed=1)
    section = _section(_html(tmp_path, model_card=model_card().model_copy(update={"performance": perf})))
    assert "Mean absolute error" in section and "Root mean squared error" in section and "R²" in section
    assert "Baseline: always predicting the label&#39;s mean" in section
    assert section.count("<svg") == 1 and 'aria-label="Residuals"' in section
    assert "<h2>Quantitative analyses</h2>" in section and 'class="grid confusion"' not in section
