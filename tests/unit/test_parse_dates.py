"""Dates are parsed the same way however many distinct texts a column holds (DATA_CONTRACT.md 2).

`schema.parse_dates` parses a few distinct texts one by one and many through pandas.to_datetime;
both must give the same day, or NaT, for every text: strictly YYYY-MM-DD, a real calendar day,
and a day datetime64[ns] holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhv_pipeline.contract import schema

EDGES = [
    "2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "2024-04-31", "2024-12-31", "1970-01-01", "1969-12-31",
    "0000-01-01", "0001-01-01", "1677-09-21", "1677-09-22", "2262-04-11", "2262-04-12", "9999-12-31",
    "2024-13-01", "2024-00-10", "2024-01-00", "2024-01-32", "2024-1-01", "20240101", "2024/01/01",
    " 2024-01-01", "2024-01-01 ", "2024-01-01\n", "\uff12\uff10\uff12\uff14-01-01", "2024-0\u0661-01", "+024-01-01",
    "2024-01-1a", "", None, np.nan,
]


def _parsed(texts):
    return schema.parse_dates(pd.Series(texts, dtype=object))


def test_the_edges_parse_alike_one_by_one_and_through_pandas(monkeypatch):
    assert len(EDGES) <= schema._ONE_BY_ONE
    few = _parsed(EDGES)
    monkeypatch.setattr(schema, "_ONE_BY_ONE", -1)  # every call through pandas
    assert few.equals(_parsed(EDGES))
    valid = [text for text, day in zip(EDGES, few, strict=True) if not pd.isna(day)]
    assert valid == ["2024-02-29", "2000-02-29", "2024-12-31", "1970-01-01", "1969-12-31", "1677-09-22", "2262-04-11"]
    assert few[few.notna()].dt.strftime("%Y-%m-%d").tolist() == valid


def test_every_day_and_near_miss_of_many_years_parses_alike():
    rng = np.random.default_rng(7)
    texts = [f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in zip(rng.integers(0, 10000, 3000), rng.integers(0, 15, 3000),
                                                          rng.integers(0, 34, 3000), strict=True)]
    chunks = [texts[start:start + 200] for start in range(0, len(texts), 200)]
    few = [schema._parse_date_texts(pd.Series(chunk, dtype=object)) for chunk in chunks]
    whole = schema._parse_date_texts(pd.Series(texts, dtype=object))  # more than _ONE_BY_ONE: pandas
    assert len(texts) > schema._ONE_BY_ONE
    assert pd.concat(few, ignore_index=True).equals(whole)
    assert whole.notna().any() and whole.isna().any()
