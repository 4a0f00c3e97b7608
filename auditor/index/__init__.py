"""The run index: what the portfolio, `runs` filters, cross-run lineage and duplicate detection ask
about many runs, kept beside the records (a cache, always rebuildable from them, never evidence)."""
