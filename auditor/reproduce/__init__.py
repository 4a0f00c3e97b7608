"""Reproduction of past runs: the comparison of an original and a re-run (groundwork for `auditor reproduce`)."""
