"""Observed file access: what the command's processes actually read and wrote."""
