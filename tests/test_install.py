"""A clean install, as a new user does it: build the wheel, install it in a fresh virtualenv outside the
checkout, and use it there. Without extras, a CI gate's install: capture, check and the HTML dossier
work, WeasyPrint is not installed and the PDF says in one line which extra it needs. With
`auditor[pdf,export]`, `auditor demo` runs the sample shipped inside the wheel end to end.

Offline: pip reads the wheels `./dev setup` downloaded into .cache/wheelhouse (install/: auditor's
dependencies with every extra; sample/: the sample's pinned requirements, for the demo's own pip).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import ADVISORY_SNAPSHOT, REPO

WHEELHOUSE = REPO / ".cache" / "wheelhouse"


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(the virtualenv, the wheel, a clean environment): auditor's wheel installed without extras."""
    for folder in ("install", "sample"):
        if not (WHEELHOUSE / folder).is_dir():
            pytest.fail(f"{WHEELHOUSE / folder} is missing: run `./dev setup`")
    root = tmp_path_factory.mktemp("install")
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(root / "home"),
        "LANG": "C.UTF-8",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": f"{WHEELHOUSE} {WHEELHOUSE / 'install'} {WHEELHOUSE / 'sample'}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "AUDITOR_CACHE_DIR": str(root / "cache"),
    }
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(root / "dist"), str(REPO)], root, env)
    assert built.returncode == 0, built.stderr
    (wheel,) = (root / "dist").glob("auditor-*.whl")
    venv.create(root / "venv", with_pip=True)
    done = _run([str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], root, env)
    assert done.returncode == 0, done.stderr
    return root / "venv", wheel, env


@pytest.mark.slow
def test_a_ci_gate_install_checks_without_the_pdf_stack(installed: tuple[Path, Path, dict[str, str]]) -> None:
    target, _, env = installed
    work = target.parent / "project"
    work.mkdir()
    auditor = str(target / "bin" / "auditor")
    python = str(target / "bin" / "python")
    missing = _run(
        [python, "-c", "import importlib.util as u; print(u.find_spec('weasyprint'), u.find_spec('docker'))"], work, env
    )
    assert missing.stdout.split() == ["None", "None"]
    typed = _run(
        [
            python,
            "-c",
            "import auditor, pathlib; print((pathlib.Path(auditor.__file__).parent / 'py.typed').is_file())",
        ],
        work,
        env,
    )
    assert typed.stdout.strip() == "True"

    (work / "train.py").write_text(
        "import auditor\nauditor.log_metric('accuracy', 0.9)\nauditor.set_tag('team', 'risk')\n"
    )
    ran = _run([auditor, "run", "--", python, "train.py"], work, env)
    assert ran.returncode == 0, ran.stderr
    checked = _run([auditor, "check", "latest", "--advisory-db", str(ADVISORY_SNAPSHOT), "--format", "json"], work, env)
    assert checked.returncode in (0, 1), checked.stderr  # a verdict, not a crash and not "could not check"
    report = json.loads(checked.stdout)
    assert report["run"]["project"] == "project" and report["findings"]

    html = _run(
        [auditor, "report", "latest", "--format", "html", "--advisory-db", str(ADVISORY_SNAPSHOT), "-o", "out"],
        work,
        env,
    )
    assert html.returncode == 0, html.stderr
    assert (work / "out" / "dossier.html").is_file()
    pdf = _run([auditor, "report", "latest", "--format", "pdf", "-o", "out2"], work, env)
    assert pdf.returncode == 2
    assert pdf.stderr.strip() == (
        "auditor: error: the PDF dossier needs the pdf extra, which is not installed: pip install 'auditor[pdf]'"
    )
    assert not (work / "out2").exists()
    container = _run([auditor, "run", "--image", "python:3.11-slim", "--", "python", "-c", "pass"], work, env)
    assert container.returncode == 2 and "pip install 'auditor[container]'" in container.stderr
    assert "Traceback" not in container.stderr
    export = _run([auditor, "export", "latest", "--format", "prov"], work, env)  # (CycloneDX comes with pip-audit)
    assert export.returncode == 2 and "pip install 'auditor[export]'" in export.stderr

    library = _run(
        [
            python,
            "-c",
            "import auditor; record = auditor.load_record('latest'); "
            f"report = auditor.check(record, policy='default', advisory_db={str(ADVISORY_SNAPSHOT)!r}); "
            "print(report.run.run_id == record.identity.run_id)",
        ],
        work,
        env,
    )
    assert library.stdout.strip() == "True", library.stderr


@pytest.mark.slow
def test_the_demo_runs_from_the_installed_wheel(installed: tuple[Path, Path, dict[str, str]]) -> None:
    target, wheel, env = installed
    extra = _run(
        [str(target / "bin" / "python"), "-m", "pip", "install", "-q", f"{wheel}[pdf,export]"], target.parent, env
    )
    assert extra.returncode == 0, extra.stderr
    outside = target.parent / "elsewhere"
    outside.mkdir()
    demo_env = {**env, "AUDITOR_ADVISORY_DB": str(ADVISORY_SNAPSHOT)}
    done = _run([str(target / "bin" / "auditor"), "demo", "-o", "demo"], outside, demo_env, timeout=1500)
    assert done.returncode == 0, done.stderr
    assert "preparing the sample's virtualenv" in done.stderr
    out = outside / "demo"
    assert (out / "dossier.html").is_file() and (out / "dossier.pdf").read_bytes().startswith(b"%PDF-")
    assert (out / "project" / "auditor.yaml").is_file()  # the shipped sample, copied: site-packages is untouched
    assert "verdict:" in done.stdout
    assert os.listdir(Path(env["AUDITOR_CACHE_DIR"]) / "sample-venv")  # built once, kept for the next demo
    bom = _run(
        [str(target / "bin" / "auditor"), "export", "latest", "--store", "demo/store", "--format", "cyclonedx"],
        outside,
        env,
    )
    assert bom.returncode == 0, bom.stderr
    document = json.loads(bom.stdout)
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.6"
    assert any(c["type"] == "machine-learning-model" for c in document["components"])
