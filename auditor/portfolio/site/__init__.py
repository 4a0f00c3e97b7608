"""`auditor portfolio`: a static, offline site over every run of a store, for the people above the runs.

checks.py gives every run a verdict under one policy (kept checks reused, missing ones computed and
kept); model.py assembles the facts the pages show; charts.py draws them as inline SVG; pages.py
renders the pages with Jinja2 (autoescape); write.py renders dossiers (cached) and swaps the new
site into place.
"""
