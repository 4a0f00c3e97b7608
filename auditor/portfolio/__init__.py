"""Questions across runs: what changed between two (diff), which runs feed which (cross-run
lineage), which projects look like the same work (duplicates), and the static site for managers."""
