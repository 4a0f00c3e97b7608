"""`auditor diff RUN_A RUN_B`: what changed between two runs, section by section.

model.py holds the result (pure data); sections.py and facets.py compute it from two verified
records and their check reports; substantial.py reads it for the EU AI Act's "substantial
modification" indications; text.py, json.py and html.py render it (pure: a model in, text out);
make.py is the one place that loads runs and checks them.
"""
