from __future__ import annotations

from datetime import date

from auditor.check.checks.environment import PinnedParams, _packages_pinned
from auditor.check.checks.interface import CheckContext
from auditor.record import RunRecord
from auditor.record.models import DeclaredRequirements, Distribution, Missing, Packages, Pin, RequirementsFile
from tests.factories import make_record

CTX = CheckContext(today=date(2026, 11, 27))


def _dist(name: str, version: str, kind: str = "index", **extra: object) -> Distribution:
    return Distribution.model_validate(
        {
            "name": name,
            "version": version,
            "installer": "pip",
            "requested": True,
            "install_kind": kind,
            "location": "/venv/site-packages",
            **extra,
        }
    )


def _pin(name: str, version: str | None, hashes: tuple[str, ...] = ()) -> Pin:
    spec = f"=={version}" if version else ">=1"
    return Pin(name=name, specifier=spec, version=version, hashes=hashes, line=1)


def _record(dists: list[Distribution], pins: list[Pin], problems: tuple[str, ...] = ()) -> RunRecord:
    record = make_record()
    declared = DeclaredRequirements(
        files=(RequirementsFile(path="requirements.txt", sha256="0" * 64, pins=tuple(pins), problems=problems),)
    )
    environment = record.environment.model_copy(
        update={"packages": Packages(distributions=tuple(dists)), "declared": declared}
    )
    return record.model_copy(update={"environment": environment})


def _outcomes(record: RunRecord) -> dict[str, tuple[str, str]]:
    return {v.subject: (v.outcome, v.message) for v in _packages_pinned(record, PinnedParams(), CTX)}


def test_pins_versions_hashes_and_install_kinds() -> None:
    record = _record(
        [
            _dist("numpy", "2.1.0"),
            _dist("Pandas", "2.3.3"),
            _dist("scipy", "1.14.0"),
            _dist("rich", "13.0"),
            _dist("mylib", "0.1", "editable", url="file:///src/mylib"),
            _dist("tool", "1.0", "vcs", vcs="git"),
            _dist("pip", "24.0"),
        ],
        [
            _pin("numpy", "2.1.0", ("sha256:a",)),
            _pin("pandas", "2.3.2", ("sha256:b",)),
            _pin("scipy", "1.14.0"),
            _pin("tool", None),
        ],
    )
    found = _outcomes(record)
    assert found["package:numpy"] == ("pass", "pinned ==2.1.0 with 1 hash(es)")
    assert found["package:Pandas"] == ("fail", "pinned 2.3.2, installed 2.3.3")
    assert found["package:scipy"][0] == "fail" and "without a hash" in found["package:scipy"][1]
    assert found["package:rich"] == ("fail", "rich 13.0 is installed but not pinned in the requirements")
    assert found["package:mylib"][0] == "fail" and "editable install" in found["package:mylib"][1]
    assert found["package:tool"] == ("fail", "VCS install without a commit")
    assert "package:pip" not in found


def test_no_evidence_is_never_a_pass() -> None:
    record = make_record()
    environment = record.environment.model_copy(update={"declared": Missing(reason="no requirements file")})
    (verdict,) = _packages_pinned(record.model_copy(update={"environment": environment}), PinnedParams(), CTX)
    assert verdict.outcome == "could_not_evaluate" and "no requirements file" in verdict.message
    (old,) = _packages_pinned(make_record(), PinnedParams(), CTX)  # a record without the section at all
    assert old.outcome == "could_not_evaluate"
    unreadable = _record([_dist("numpy", "2.1.0")], [_pin("numpy", "2.1.0")], problems=("line 3: cannot parse 'x'",))
    outcomes = [v.outcome for v in _packages_pinned(unreadable, PinnedParams(), CTX)]
    assert outcomes == ["pass", "could_not_evaluate"]


def test_vcs_installs_must_be_pinned_to_the_commit_installed() -> None:
    """pip records the commit it checked out for any ref, so a branch must not read as pinned."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    url = "git+https://example.invalid/tool.git@{}"
    cases = {
        "main": ("fail", "VCS requirement pinned to a moving ref 'main'"),
        "v1.0": ("fail", "VCS requirement pinned to a moving ref 'v1.0'"),
        "f" * 40: ("fail", f"pinned {'f' * 12}, installed {commit[:12]}"),
        commit: ("pass", f"VCS install at pinned commit {commit[:12]}"),
    }
    for ref, expected in cases.items():
        pin = Pin(name="tool", specifier="", version=None, hashes=(), url=url.format(ref), line=1)
        dist = _dist("tool", "1.0", "vcs", vcs="git", commit_id=commit, requested_revision=ref)
        assert _outcomes(_record([dist], [pin]))["package:tool"] == expected, ref
    unpinned = Pin(name="tool", specifier="", version=None, hashes=(), url="git+https://example.invalid/t.git", line=1)
    dist = _dist("tool", "1.0", "vcs", vcs="git", commit_id=commit)
    assert _outcomes(_record([dist], [unpinned]))["package:tool"] == ("fail", "VCS requirement pinned to no ref at all")
