"""Policy: rule packs evaluated against a run record, producing findings.

run record -> (rule pack, check registry) -> engine -> findings -> formats / dossier
"""
