"""Appendix B on paper: one line of text a package (issue 19: half the CPU per PDF page), nothing lost.

Every package keeps its name, its version, its install kind when it is not the package index, and both
checks' marks, in monospaced columns; a line whose graver mark is not a pass takes that outcome's colour.
Read back from the PDF too.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from auditor.check.evaluate import CheckRequest, run_check
from auditor.record.models import Distribution, Packages
from auditor.render.dossier.build import build_dossier, default_drawing
from auditor.render.dossier.html import render_html
from auditor.render.dossier.pdf import render_pdf
from auditor.render.dossier.views import PackageView
from tests.render.dossier.test_report import FIXED, _request


def _html(tmp_path: Path) -> str:
    request = _request(tmp_path)
    record = request.record
    extra = Distribution(
        name="zz-local-tool", version="0.3", installer="pip", requested=True, install_kind="editable", location="/src"
    )
    packages = record.environment.packages
    assert isinstance(packages, Packages)
    env = record.environment.model_copy(update={"packages": Packages(distributions=(*packages.distributions, extra))})
    request = CheckRequest(**{**request.__dict__, "record": record.model_copy(update={"environment": env})})
    report = run_check(request)
    return render_html(build_dossier(request.record, report, (), (), FIXED, default_drawing(), (), ()))


def _appendix(html: str) -> str:
    found = re.search(r'<section id="appendix-packages".*?</section>', html, re.DOTALL)
    assert found
    return found[0]


def test_each_package_is_one_line_with_both_marks(tmp_path: Path) -> None:
    appendix = _appendix(_html(tmp_path))
    rows = re.findall(r"<tr>(.*?)</tr>", appendix, re.DOTALL)
    assert rows[0] == f'<th class="mono listing">{"Package":40}{"Version":26}Pinning / vulnerabilities</th>'
    body = rows[1:]
    assert len(body) == 4 and all(row.count("<td") == 1 and "<span" not in row for row in body)
    by_name = {re.search(r'<td class="[^"]*">(\S+)', row)[1]: row for row in body}  # type: ignore[index]
    # Name, version (with the install kind when not from the index) and marks in columns of 40 and 26 characters.
    assert f">{'zz-local-tool':40}{'0.3 (editable)':26}– / " in by_name["zz-local-tool"]
    assert f'<td class="mono listing o-fail">{"acme-widgets":40}{"1.0":26}– / ✗ FAIL</td>' in by_name["acme-widgets"]
    assert by_name["numpy"].endswith("– / ? could not evaluate</td>") and "o-could_not_evaluate" in by_name["numpy"]
    assert '<td class="mono listing">' in by_name["acme-json"] and by_name["acme-json"].endswith("– / ✓</td>")
    assert "Marks: pinning / vulnerabilities." in appendix


def test_the_pdf_appendix_reads_as_the_html_says(tmp_path: Path) -> None:
    pdf = tmp_path / "d.pdf"
    pdf.write_bytes(render_pdf(_html(tmp_path), pdfa=True).data)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    appendix = text[text.rindex("B Installed packages") :]
    assert re.search(r"acme-widgets +1\.0 +– / ✗ FAIL", appendix), appendix[:2000]
    assert re.search(r"zz-local-tool +0\.3 \(editable\) +– / ", appendix), appendix[:2000]
    assert re.search(r"Run record +The versioned JSON evidence", text), "the glossary: term beside definition"


def test_the_graver_outcome_colours_the_cell() -> None:
    def view(pin: str, vuln: str) -> PackageView:
        return PackageView("p", "1", "index", "", pin, "", vuln)

    assert view("pass", "fail").worst_outcome == "fail"
    assert view("waived", "could_not_evaluate").worst_outcome == "could_not_evaluate"
    assert view("not_applicable", "pass").worst_outcome == "pass"
    assert view("something-new", "not_applicable").worst_outcome == "not_applicable"
    assert view("pass", "something-new").worst_outcome == "pass"
