from __future__ import annotations

import platform

from auditor.capture.collect.system import collect_os, collect_timezone, parse_os_release
from auditor.record.models import Missing
from tests.conftest import FIXTURES


def test_parse_os_release_of_the_reference_machine() -> None:
    text = (FIXTURES / "gpu-reference" / "system.txt").read_text()
    release = parse_os_release("\n".join(line for line in text.splitlines() if "=" in line))
    assert release["PRETTY_NAME"] == "Ubuntu 24.04.3 LTS"
    assert release["VERSION_ID"] == "24.04"
    assert release["ID"] == "ubuntu"


def test_parse_os_release_quoting() -> None:
    release = parse_os_release('# comment\nNAME="A \\"quoted\\" name"\nID=plain\nEMPTY=\nBAD LINE\n')
    assert release == {"NAME": 'A "quoted" name', "ID": "plain", "EMPTY": ""}


def test_this_machine() -> None:
    info = collect_os()
    assert not isinstance(info, Missing)
    assert info.kernel == platform.release()
    assert info.architecture == platform.machine()
    assert info.distribution_id == "debian"
    assert info.libc and info.libc.startswith("glibc")


def test_timezone_prefers_tz() -> None:
    zone = collect_timezone({"TZ": "Europe/Berlin"})
    assert not isinstance(zone, Missing) and zone.name == "Europe/Berlin"
    assert len(zone.utc_offset) == 5
