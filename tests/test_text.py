"""One definition of unsafe characters, and of how absent values and long text are shown."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from auditor.text import UNSAFE, clip, not_captured, one_line, or_unknown, rate, safe, scrub


def test_unsafe_is_every_control_format_surrogate_and_separator_character() -> None:
    """The hand-written set equals Unicode's categories Cc, Cf, Cs, Zl and Zp on this interpreter."""
    expected = {
        chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs", "Zl", "Zp")
    }
    found = {chr(c) for c in range(sys.maxunicode + 1) if UNSAFE.fullmatch(chr(c))}
    assert expected <= found
    extra = {unicodedata.category(c) for c in found - expected}
    assert extra <= {"Cn"}, extra  # newer Unicode versions' format characters, unassigned here


HOSTILE = "a\x1b[31mb\u202ec\u200bd\u2028e\ud800f\x00g\u00adh"


def test_every_medium_neutralises_the_same_characters() -> None:
    assert safe(HOSTILE) == "a\\x1b[31mb\\u202ec\\u200bd\\u2028e\\ud800f\\x00g\\xadh"
    assert scrub(HOSTILE) == "a\ufffd[31mb\ufffdc\ufffdd\ufffde\ufffdf\ufffdg\ufffdh"
    assert one_line(HOSTILE, 100) == "a[31mbcd efgh"
    for shown in (safe(HOSTILE), scrub(HOSTILE), one_line(HOSTILE, 100)):
        assert not UNSAFE.search(shown)


def test_documents_keep_line_breaks_and_tabs_the_terminal_escapes_them() -> None:
    assert scrub("a\tb\nc\r\n") == "a\tb\nc\r\n"
    assert safe("a\tb\nc") == "a\\x09b\\x0ac"
    assert one_line("a\tb\n\nc", 10) == "a b c"


def test_clip_at_the_end_or_in_the_middle() -> None:
    assert clip("short", 10) == "short"
    assert clip("abcdefghijkl", 6) == "abcde\u2026"
    assert clip("/very/long/path/to/model.bin", 16, middle=True) == "/very\u2026/model.bin"
    assert len(clip("x" * 1000, 50, middle=True)) == 50
    assert len(one_line("y" * 10_000_000, 40)) == 40


@pytest.mark.parametrize(("value", "shown"), [(None, "unknown"), ("", "unknown"), (0, "0"), ("x", "x")])
def test_absent_values_are_words_never_none(value: object, shown: str) -> None:
    assert or_unknown(value) == shown


def test_rates_and_missing_sections() -> None:
    assert rate(None) == "n/a"
    assert rate(0.12345) == "0.123"
    assert not_captured(None) == "not captured"
    assert not_captured("no GPU library") == "not captured: no GPU library"
    assert not_captured("not captured by MLflow") == "not captured by MLflow"
