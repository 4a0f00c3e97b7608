"""Executors: run a command and report what happened (local now, containers later)."""
