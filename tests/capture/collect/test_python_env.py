"""The environment is that of the interpreter running the command, never auditor's own.

A throwaway virtualenv gets three known distributions, installed offline in the three
ways that matter to an auditor (from a local folder, editable, and from a VCS commit).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from auditor.capture.collect.probe_runner import find_interpreter
from auditor.capture.collect.python_env import collect_python, to_distribution
from auditor.record.models import Missing, Packages, PythonInfo
from tests.conftest import REPO, base_env, git

pytestmark = pytest.mark.slow
WHEELHOUSE = REPO / ".cache" / "wheelhouse"


def _package(root: Path, name: str, version: str) -> Path:
    folder = root / name
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text(f"VERSION = {version!r}\n")
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
    )
    return folder


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv-case")
    env_dir = root / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    if not WHEELHOUSE.is_dir():
        pytest.fail(f"{WHEELHOUSE} is missing: run `./dev setup`")
    pip = [
        str(env_dir / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--no-index",
        "--find-links",
        str(WHEELHOUSE),
        "--no-build-isolation",
    ]
    subprocess.run([*pip, "--upgrade", "setuptools"], check=True)
    subprocess.run([*pip, str(_package(root, "knownpkg", "1.2.3"))], check=True)
    subprocess.run([*pip, "-e", str(_package(root, "editpkg", "0.4.0"))], check=True)
    vcs = _package(root, "vcspkg", "2.0.0")
    git(vcs, "init", "-q")
    git(vcs, "add", ".")
    git(vcs, "commit", "-q", "-m", "v2")
    git(vcs, "tag", "v2.0.0")
    subprocess.run([*pip, f"git+file://{vcs}@v2.0.0#egg=vcspkg"], check=True, capture_output=True)
    (root / "vcs_commit").write_text(git(vcs, "rev-parse", "HEAD"))
    return env_dir


def test_packages_are_those_of_the_commands_interpreter(venv: Path, tmp_path: Path) -> None:
    evidence = collect_python([str(venv / "bin" / "python"), "train.py"], base_env(), str(tmp_path))
    assert isinstance(evidence.python, PythonInfo) and isinstance(evidence.packages, Packages)
    assert evidence.python.is_virtualenv and evidence.python.prefix == str(venv)
    assert evidence.python.resolved_from == "argv"
    by_name = {d.name: d for d in evidence.packages.distributions}
    assert {"knownpkg", "editpkg", "vcspkg", "pip"} <= set(by_name)
    assert not {"pydantic", "typer", "auditor"} & set(by_name), "auditor's own environment leaked in"

    known = by_name["knownpkg"]
    assert (known.version, known.install_kind, known.installer, known.requested) == ("1.2.3", "local", "pip", True)
    assert known.url and known.url.startswith("file://")
    assert by_name["editpkg"].install_kind == "editable"
    vcs = by_name["vcspkg"]
    assert vcs.install_kind == "vcs" and vcs.vcs == "git"
    assert vcs.commit_id == (venv.parent / "vcs_commit").read_text()
    assert vcs.requested_revision == "v2.0.0"
    assert by_name["pip"].install_kind == "index"


def test_interpreter_from_shebang_and_path(venv: Path, tmp_path: Path) -> None:
    script = tmp_path / "train"
    script.write_text("#!/usr/bin/env python3\nprint('hi')\n")
    script.chmod(0o755)
    env = base_env(PATH=f"{venv / 'bin'}:/usr/bin:/bin")
    found = find_interpreter(["./train"], env, str(tmp_path))
    assert found is not None and found.resolved_from == "shebang"
    assert found.executable == str(venv / "bin" / "python3")

    direct = tmp_path / "direct"
    direct.write_text(f"#!{venv / 'bin' / 'python'}\n")
    direct.chmod(0o755)
    found = find_interpreter([str(direct)], base_env(), str(tmp_path))
    assert found is not None and (found.executable, found.resolved_from) == (str(venv / "bin" / "python"), "shebang")

    found = find_interpreter(["bash", "-c", "python3 train.py"], env, str(tmp_path))
    assert found is not None and found.resolved_from == "path"
    assert found.executable == str(venv / "bin" / "python3")


def test_no_python_anywhere_is_missing(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    evidence = collect_python(["ls"], {"PATH": str(empty)}, str(tmp_path))
    assert isinstance(evidence.packages, Missing) and "no Python interpreter" in evidence.packages.reason


def test_broken_interpreter_is_missing_with_the_reason(tmp_path: Path) -> None:
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho 'this python is broken' >&2\nexit 9\n")
    fake.chmod(0o755)
    evidence = collect_python([str(fake)], base_env(), str(tmp_path))
    assert isinstance(evidence.python, Missing)
    assert "exit 9" in evidence.python.reason and "this python is broken" in evidence.python.reason


def test_vcs_urls_lose_their_credentials() -> None:
    dist = to_distribution(
        {
            "name": "private",
            "version": "1.0",
            "installer": "pip",
            "requested": True,
            "location": "/x",
            "direct_url": {
                "url": "https://ci-bot:glpat-abcdefghijklmnop@git.example.invalid/private.git",
                "vcs_info": {"vcs": "git", "commit_id": "c" * 40},
            },
        }
    )
    assert dist.url == "https://git.example.invalid/private.git"
    assert dist.install_kind == "vcs" and dist.commit_id == "c" * 40


def test_direct_url_tokens_are_removed() -> None:
    for url, clean in [
        ("https://directurl-Jc94Vh3e@github.com/acme/calib.git", "https://github.com/acme/calib.git"),
        (
            "https://files.example.invalid/calib.whl?token=directq-Lm3",
            "https://files.example.invalid/calib.whl?token=[REDACTED:url-secret]",
        ),
    ]:
        raw = {"name": "calib", "version": "1.0", "installer": "pip", "location": "/x", "direct_url": {"url": url}}
        assert to_distribution(raw).url == clean
