"""Weights & Biases: the tool's name, shared by its ingester and its reader."""

from __future__ import annotations

TOOL = "Weights & Biases"
