"""Collectors: each turns one part of the machine or project into record sections.

Every collector returns record models and never raises for missing evidence:
what it cannot see becomes a `Missing` value with the reason.
"""
