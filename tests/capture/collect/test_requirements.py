from __future__ import annotations

from pathlib import Path

from auditor.capture.collect.requirements import collect_requirements
from auditor.record.models import DeclaredRequirements, Missing
from tests.conftest import SAMPLE

MAIN = """\
# the pinned stack
--index-url https://pypi.org/simple
numpy==2.1.0 \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
pandas>=2,<3  # not pinned
scikit-learn===1.5.0 ; python_version >= "3.10"
-e ./libs/features
private @ git+https://example.invalid/private.git@v1.2
this is not a requirement!
-r more.txt
"""


def test_pip_requirements_format(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(MAIN)
    (tmp_path / "more.txt").write_text("torch==2.4.0\n-r requirements.txt\n")
    declared = collect_requirements(tmp_path)
    assert isinstance(declared, DeclaredRequirements)
    main, more = declared.files
    assert (main.path, more.path) == ("requirements.txt", "more.txt")
    pins = {p.name: p for p in main.pins}
    assert pins["numpy"].version == "2.1.0" and pins["numpy"].hashes == ("sha256:aaaa", "sha256:bbbb")
    assert pins["numpy"].line == 3
    assert pins["pandas"].version is None and pins["pandas"].specifier == "<3,>=2"
    assert pins["scikit-learn"].version == "1.5.0" and pins["scikit-learn"].marker == 'python_version >= "3.10"'
    assert pins["features"].editable and pins["features"].url == "./libs/features"
    assert pins["private"].url == "git+https://example.invalid/private.git@v1.2" and pins["private"].version is None
    assert len(main.problems) == 1 and main.problems[0].startswith("line 10: cannot parse 'this is not a requirement!'")
    assert [p.name for p in more.pins] == ["torch"]
    assert main.sha256 is not None and len(main.sha256) == 64


def test_declared_files_and_absence(tmp_path: Path) -> None:
    missing = collect_requirements(tmp_path)
    assert isinstance(missing, Missing) and "no requirements file" in missing.reason
    unreadable = collect_requirements(tmp_path, ("locks/prod.txt",))
    assert isinstance(unreadable, DeclaredRequirements)
    assert unreadable.files[0].sha256 is None and unreadable.files[0].problems[0].startswith("cannot read")


def test_the_samples_hash_checked_requirements() -> None:
    declared = collect_requirements(SAMPLE)
    assert isinstance(declared, DeclaredRequirements)
    (sample,) = declared.files
    assert sample.problems == ()
    assert len(sample.pins) >= 17 and all(p.version and p.hashes for p in sample.pins)


def test_requirement_urls_lose_their_tokens(tmp_path: Path) -> None:
    tokens = ("reqtoken-Gk72Ws9d", "reqoauth-Nd83Kq1z", "reqquery-Tv51Bm8c", "idxpass-Ry62Fp0w", "badline-Qp40Xz")
    (tmp_path / "requirements.txt").write_text(
        f"--extra-index-url https://ci:{tokens[3]}@pypi.example.invalid/simple\n"
        f"git+https://{tokens[0]}@github.com/acme/features.git@v1.2#egg=features\n"
        f"scorer @ https://{tokens[1]}:x-oauth-basic@github.com/acme/scorer/archive/v2.zip\n"
        f"https://files.example.invalid/calib-1.0-py3-none-any.whl?token={tokens[2]}\n"
        f"-e git+https://{tokens[0]}@github.com/acme/editable.git#egg=editable\n"
        f"broken @ https://{tokens[4]}@x.invalid/y ; python_version >>> '3'\n"
    )
    declared = collect_requirements(tmp_path)
    assert isinstance(declared, DeclaredRequirements)
    assert not any(token in declared.model_dump_json() for token in tokens)
    pins = {p.name: p for p in declared.files[0].pins}
    assert pins["features"].url == "git+https://github.com/acme/features.git@v1.2#egg=features"
    assert pins["scorer"].url == "https://github.com/acme/scorer/archive/v2.zip"
    assert pins["calib-1.0-py3-none-any.whl"].url == (
        "https://files.example.invalid/calib-1.0-py3-none-any.whl?token=[REDACTED:url-secret]"
    )
    assert pins["editable"].editable and pins["editable"].url == "git+https://github.com/acme/editable.git#egg=editable"
    assert len(declared.files[0].problems) == 1 and "line 6: cannot parse" in declared.files[0].problems[0]


def test_a_fifo_or_a_device_as_a_requirements_file_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    """A FIFO would hang `auditor run` before the command even starts; /dev/zero would fill its memory."""
    import os
    import threading

    os.mkfifo(tmp_path / "requirements.txt")
    (tmp_path / "locks.txt").write_text("numpy==2.1.0\n-r zero.txt\n")
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    found: list[object] = []
    worker = threading.Thread(
        target=lambda: found.extend([collect_requirements(tmp_path), collect_requirements(tmp_path, ("locks.txt",))]),
        daemon=True,
    )
    worker.start()
    worker.join(30)
    if worker.is_alive():
        os.close(os.open(tmp_path / "requirements.txt", os.O_WRONLY | os.O_NONBLOCK))  # let the reader go
        raise AssertionError("reading requirements waited on a FIFO")
    default, declared = found
    assert isinstance(default, DeclaredRequirements) and isinstance(declared, DeclaredRequirements)
    (fifo,) = default.files  # present but unusable: a problem shown, not "no requirements file"
    assert fifo.sha256 is None and fifo.problems == ("a FIFO: a requirements file is read only from a regular file",)
    locks, zero = declared.files
    assert [p.name for p in locks.pins] == ["numpy"]
    assert zero.problems == ("a character device: a requirements file is read only from a regular file",)
