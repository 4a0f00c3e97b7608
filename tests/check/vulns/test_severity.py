"""Advisory severity from real CVSS vectors (values checked against NVD's calculators)."""

from __future__ import annotations

import pytest

from auditor.check.vulns.severity import cvss_severity


@pytest.mark.parametrize(
    ("vectors", "expected"),
    [
        ([("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")], "critical"),  # 9.8
        ([("CVSS_V3", "CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:U/C:L/I:N/A:N")], "low"),  # 3.3
        ([("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H")], "medium"),  # 6.5
        ([("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P")], "high"),  # 7.5, NVD's v2 bands
        ([("CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")], "critical"),  # 9.3
        (
            [
                ("CVSS_V3", "CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:U/C:L/I:N/A:N"),
                ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            ],
            "critical",
        ),  # the worst vector wins
        ([], None),
        ([("CVSS_V3", "not a vector")], None),  # unreadable: unknown, never "low"
        ([("Ubuntu", "high")], None),  # a type we do not score
    ],
)
def test_cvss_severity(vectors: list[tuple[str, str]], expected: str | None) -> None:
    assert cvss_severity(vectors) == expected
