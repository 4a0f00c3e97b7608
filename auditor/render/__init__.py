"""Renderers: findings and records in, text or bytes out (pure; the CLI writes the files).

`formats.py` declares every output format once (the CLI's choices come from it): the check report
as text, JSON, SARIF, JUnit XML and GitHub workflow commands, and the dossier (`dossier/`) as HTML
and PDF. `summary.py` and `reproduction.py` are the terminal views of records. Every string that
came from a record, a pack or a waiver is untrusted: each format escapes it with its own
serialiser (see `auditor.text` for the one set of unsafe characters), never splices it into markup.
"""
