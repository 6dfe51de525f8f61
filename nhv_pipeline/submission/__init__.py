"""Aggregated reporting (SUBMISSION.md): a unit's own figures, one row per result cell, beside extracts.

Pure (no Dagster): `cells` says which rows a submission of a condition and report year has
and writes the canonical submission.csv; `contract` reads and validates one; `workbook` writes the
Excel template (SUBMISSION.md 7) and reads a filled-in one safely; `make` makes a unit's
submission from its own extracts (SUBMISSION.md 6).
"""
