"""Renderers of a `CheckReport` to the machine-readable formats: JSON, SARIF, JUnit XML and
GitHub workflow commands.

Each is a pure function from the one report model to text, so the formats cannot disagree
with each other, and each treats every string that came from a record, a pack or a waiver
as untrusted: it is escaped by the format's own serialiser, never spliced into markup.
"""
