"""Tests of the dossier's figures: the lineage diagram and the fairness chart."""
