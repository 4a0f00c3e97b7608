"""Whether two names written in a waiver are one person, however they are spelled.

The two-person rule (the approver is not the owner) is worthless if "bob" and "bob" plus a zero-width
space, a fullwidth "ｂｏｂ", or "bоb" with a Cyrillic "о" count as two people. So names are compared by
a key, and a name that can only be meant to deceive is refused:

- the key: NFKC (fullwidth, ligature and mathematical letters become plain ones), every character
  auditor.text calls unsafe (controls; format characters such as zero-width and bidi ones) and all
  whitespace removed, the common look-alikes of Latin letters in Cyrillic, Greek and Armenian mapped
  to that Latin letter (the letters from Unicode's confusables.txt that occur in names), casefolded,
  and then 0 -> o, 1 and | -> l, rn -> m, vv -> w. Two names with one key are one person.
- refused: a name whose letters mix scripts (Latin with Cyrillic, say), except the mixes Unicode's
  "highly restrictive" profile (UTS #39) allows: Latin with Han and Hiragana/Katakana, with Bopomofo,
  or with Hangul. A name written wholly in Cyrillic is allowed, and its key maps look-alikes to Latin.

This is a deliberate subset of UTS #39's skeletons, not the whole confusables table: it covers the
letters an address or a handle is forged with, and errs towards calling two names one person.
"""

from __future__ import annotations

import re
import unicodedata

from auditor.text import UNSAFE

# Look-alikes of Latin letters, both cases, mapped before casefolding (Cyrillic, Greek, Armenian, Latin).
_LOOKALIKES = str.maketrans(
    "АВЕКМНОРСТХУЅІЈԚԜҮӀаеорсухѕіјԁԛԝһӏүԍΑΒΕΖΗΙΚΜΝΟΡΤΥΧοινκαρυχγՕՍօսհոցıȷɡ",
    "ABEKMHOPCTXYSIJQWYlaeopcyxsijdqwhlyGABEZHIKMNOPTYXoivkapuxyOUouhngijg",
)
_SEQUENCES = (("rn", "m"), ("vv", "w"))
_DIGITS = str.maketrans({"0": "o", "1": "l", "|": "l"})
_SPACE = re.compile(r"\s+")
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_SCRIPT_OF_NAME = {"CJK": "HAN", "KATAKANA-HIRAGANA": "KATAKANA", "HALFWIDTH": "KATAKANA"}


def identity_key(name: str) -> str:
    """The form two spellings of one person share; empty when nothing visible is left."""
    text = _SPACE.sub("", UNSAFE.sub("", unicodedata.normalize("NFKC", name)))
    text = text.translate(_LOOKALIKES).casefold().translate(_DIGITS)
    for sequence, letter in _SEQUENCES:
        text = text.replace(sequence, letter)
    return text


def mixed_scripts(name: str) -> tuple[str, ...]:
    """The scripts of `name`'s letters when they mix in a way no honest name does; () when fine."""
    scripts = {_script(ch) for ch in unicodedata.normalize("NFKC", name) if unicodedata.category(ch).startswith("L")}
    scripts.discard(None)
    found = frozenset(s for s in scripts if s is not None)
    if len(found) <= 1 or any(found <= allowed for allowed in _ALLOWED_MIXES):
        return ()
    return tuple(sorted(found))


def _script(ch: str) -> str | None:
    """A letter's script, from the first word of its Unicode name (LATIN, CYRILLIC, GREEK, CJK...)."""
    first = unicodedata.name(ch, "").split(" ", 1)[0]
    if first in ("", "MODIFIER"):
        return None  # modifier letters are shared by scripts
    return _SCRIPT_OF_NAME.get(first, first)
