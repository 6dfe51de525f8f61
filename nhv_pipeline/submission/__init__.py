"""Aggregated reporting (SUBMISSION.md): a unit's own figures, one row per result cell, beside extracts.

Pure (no Dagster): `cells` says which rows a submission of a condition and report year has
and writes the canonical submission.csv; `contract` reads and validates one.
"""
