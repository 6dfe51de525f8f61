"""Disclosure control (röjandekontroll), PUBLICATION.md section 3."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhv_pipeline.publication import (
    DEFAULT_THRESHOLD,
    RESULT_COLUMNS,
    WITHHELD_COLUMNS,
    suppress,
)

from result_fixtures import NAN, frame, row


def status(out: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """(unit_id, breakdown, breakdown_value) -> suppression_reason ('' = published)."""
    return {
        (r.unit_id, r.breakdown, r.breakdown_value): r.suppression_reason
        for r in out.itertuples(index=False)
    }


# --- primary rule ---------------------------------------------------------


def test_primary_withholds_n_from_1_to_4_and_shows_zero_and_five():
    df = frame(
        [
            row("enhet", "a", n=0),
            row("enhet", "b", n=1),
            row("enhet", "c", n=4),
            row("enhet", "d", n=5),
        ]
    )
    out = suppress(df)
    assert status(out) == {
        ("a", "total", "total"): "",
        ("b", "total", "total"): "small_n",
        ("c", "total", "total"): "small_n",
        ("d", "total", "total"): "",
    }
    assert out.loc[out["unit_id"] == "a", "n"].item() == 0
    assert out.loc[out["unit_id"] == "a", "value"].item() == 0.0


def test_suppressed_row_keeps_identifying_columns_and_empties_every_figure():
    proportion = row(
        "riket",
        measure="proportion",
        indicator="R1",
        n=3,
        value=66.66666,
        numerator=2,
        denominator=3,
        ci_low=20.8,
        ci_high=93.8,
    )
    out = suppress(frame([proportion]))
    r = out.iloc[0]
    assert bool(r["suppressed"]) and r["suppression_reason"] == "small_n"
    for c in WITHHELD_COLUMNS:
        assert pd.isna(r[c]), c
    for c in RESULT_COLUMNS[: RESULT_COLUMNS.index("breakdown_label") + 1]:
        assert r[c] == proportion[c], c


def test_threshold_is_configuration():
    df = frame([row("enhet", "a", n=3), row("enhet", "b", n=8), row("enhet", "c", n=2)])
    assert status(suppress(df, threshold=3)) == {
        ("a", "total", "total"): "",
        ("b", "total", "total"): "",
        ("c", "total", "total"): "small_n",
    }
    assert status(suppress(df, threshold=10))[("b", "total", "total")] == "small_n"
    assert DEFAULT_THRESHOLD == 5


def test_threshold_below_one_is_rejected():
    with pytest.raises(ValueError, match="threshold"):
        suppress(frame([row()]), threshold=0)


# --- secondary rule: breakdown values under their total ---------------------


def test_secondary_withholds_the_smallest_other_breakdown_value():
    # Riket 27 by home region: 01 (2) is primary; of 02 (7), 03 (6), 04 (12) the
    # smallest, 03, is given up, else 01 = 27 - 7 - 6 - 12.
    df = frame(
        [
            row(n=27),
            row(breakdown="home_region", bvalue="01", n=2),
            row(breakdown="home_region", bvalue="02", n=7),
            row(breakdown="home_region", bvalue="03", n=6),
            row(breakdown="home_region", bvalue="04", n=12),
        ]
    )
    assert status(suppress(df)) == {
        ("", "total", "total"): "",
        ("", "home_region", "01"): "small_n",
        ("", "home_region", "02"): "",
        ("", "home_region", "03"): "complementary",
        ("", "home_region", "04"): "",
    }


def test_secondary_passes_over_zero_parts():
    # 05 (0) is the smallest part, but withholding a zero hides nothing: 02 goes.
    df = frame(
        [
            row(n=22),
            row(breakdown="home_region", bvalue="01", n=2),
            row(breakdown="home_region", bvalue="02", n=9),
            row(breakdown="home_region", bvalue="03", n=11),
            row(breakdown="home_region", bvalue="05", n=0),
        ]
    )
    out = status(suppress(df))
    assert out[("", "home_region", "02")] == "complementary"
    assert out[("", "home_region", "05")] == ""
    assert out[("", "home_region", "03")] == ""


def test_secondary_takes_a_zero_part_when_no_other_part_is_left():
    # A total that holds more than its listed parts (10 = 3 + 0 + 7 unlisted):
    # the only published part is the zero, and it is given up.
    df = frame(
        [
            row(n=10),
            row(breakdown="sex", bvalue="K", n=3),
            row(breakdown="sex", bvalue="M", n=0),
        ]
    )
    out = status(suppress(df))
    assert out[("", "sex", "K")] == "small_n"
    assert out[("", "sex", "M")] == "complementary"
    assert out[("", "total", "total")] == ""


def test_secondary_tie_goes_to_the_smallest_breakdown_value():
    df = frame(
        [
            row(n=14),
            row(breakdown="home_region", bvalue="01", n=2),
            row(breakdown="home_region", bvalue="03", n=6),
            row(breakdown="home_region", bvalue="02", n=6),
        ]
    )
    out = status(suppress(df))
    assert out[("", "home_region", "02")] == "complementary"
    assert out[("", "home_region", "03")] == ""


# --- secondary rule: units under riket ---------------------------------------


def test_secondary_withholds_the_smallest_other_unit_under_riket():
    # Riket 17 = a 3 + b 8 + c 6: a is primary, c (6 < 8) complementary.
    df = frame(
        [
            row(n=17),
            row("enhet", "a", n=3),
            row("enhet", "b", n=8),
            row("enhet", "c", n=6),
        ]
    )
    assert status(suppress(df)) == {
        ("", "total", "total"): "",
        ("a", "total", "total"): "small_n",
        ("b", "total", "total"): "",
        ("c", "total", "total"): "complementary",
    }


def test_single_part_under_a_published_total_takes_the_total_with_it():
    # Decision 2: riket 7 over a single listed unit a (3): the unit alone would
    # be the total minus nothing, so riket is withheld as well.
    df = frame([row(n=7), row("enhet", "a", n=3)])
    assert status(suppress(df)) == {
        ("", "total", "total"): "complementary",
        ("a", "total", "total"): "small_n",
    }


def test_withheld_total_is_not_left_as_the_sum_of_published_parts():
    # Decision 3: riket 35 = a 12 + b 3 + c 20. b is primary, a (12 < 20) is
    # complementary; a's sex rows K 5 + M 7 would give a back as 12, so the
    # smaller, K, is withheld too.
    df = frame(
        [
            row(n=35),
            row("enhet", "a", n=12),
            row("enhet", "b", n=3),
            row("enhet", "c", n=20),
            row("enhet", "a", breakdown="sex", bvalue="K", n=5),
            row("enhet", "a", breakdown="sex", bvalue="M", n=7),
        ]
    )
    out = status(suppress(df))
    assert out[("a", "total", "total")] == "complementary"
    assert out[("a", "sex", "K")] == "complementary"
    assert out[("a", "sex", "M")] == ""
    assert out[("c", "total", "total")] == ""


def test_secondary_cascades_across_both_relations():
    # Unit a's K (2) is primary -> a's M (9) complementary (a's sex relation).
    # Then riket K = a K + b K and riket M = a M + b M each have one withheld
    # part -> b K (8) and b M (6) complementary (units under riket). b's own
    # sex relation then has two withheld parts and rests; riket stays shown.
    df = frame(
        [
            row(n=25),
            row(breakdown="sex", bvalue="K", n=10),
            row(breakdown="sex", bvalue="M", n=15),
            row("enhet", "a", n=11),
            row("enhet", "a", breakdown="sex", bvalue="K", n=2),
            row("enhet", "a", breakdown="sex", bvalue="M", n=9),
            row("enhet", "b", n=14),
            row("enhet", "b", breakdown="sex", bvalue="K", n=8),
            row("enhet", "b", breakdown="sex", bvalue="M", n=6),
        ]
    )
    out = status(suppress(df))
    assert out == {
        ("", "total", "total"): "",
        ("", "sex", "K"): "",
        ("", "sex", "M"): "",
        ("a", "total", "total"): "",
        ("a", "sex", "K"): "small_n",
        ("a", "sex", "M"): "complementary",
        ("b", "total", "total"): "",
        ("b", "sex", "K"): "complementary",
        ("b", "sex", "M"): "complementary",
    }


def test_relations_do_not_cross_indicators_or_measures():
    df = frame(
        [
            row(n=20, indicator="B1"),
            row("enhet", "a", n=3, indicator="B1"),
            row("enhet", "b", n=17, indicator="B1"),
            row(n=20, indicator="B3"),
            row("enhet", "a", n=10, indicator="B3"),
            row("enhet", "b", n=10, indicator="B3"),
        ]
    )
    out = suppress(df)
    assert out.loc[out["indicator_id"] == "B3", "suppressed"].tolist() == [False, False, False]
    assert out.loc[out["indicator_id"] == "B1", "suppression_reason"].tolist() == ["", "small_n", "complementary"]


def test_suppress_is_idempotent_and_ignores_row_order():
    df = frame(
        [
            row(n=17),
            row("enhet", "a", n=3),
            row("enhet", "b", n=8),
            row("enhet", "c", n=6),
        ]
    )
    once = suppress(df)
    pd.testing.assert_frame_equal(suppress(once), once)
    pd.testing.assert_frame_equal(suppress(df.iloc[[3, 1, 0, 2]]), once)


def test_duplicate_result_keys_are_rejected():
    with pytest.raises(ValueError, match="share a key"):
        suppress(frame([row(), row()]))


# --- property tests on random additive tables --------------------------------

BREAKDOWNS = {"sex": ["K", "M"], "home_region": ["01", "02", "03"]}
KEY = ["indicator_id", "level", "unit_id", "breakdown", "breakdown_value"]


@st.composite
def result_tables(draw):
    """Random riket/enhet tables where every total is the sum of its parts.

    Per unit: sex counts 0..30 each; the unit total is their sum, split at
    random over the regions. Riket is the sum of the units. A unit value with
    n = 0 may or may not have a row (only values that occur get one).
    """
    n_units = draw(st.integers(1, 4))
    rows = []
    riket: dict[tuple[str, str], int] = {}
    for u in range(n_units):
        unit = f"u{u}"
        sexes = [draw(st.integers(0, 30)) for _ in BREAKDOWNS["sex"]]
        total = sum(sexes)
        cut1 = draw(st.integers(0, total))
        cut2 = draw(st.integers(cut1, total))
        regions = [cut1, cut2 - cut1, total - cut2]
        cells = {("total", "total"): total}
        cells.update({("sex", v): c for v, c in zip(BREAKDOWNS["sex"], sexes, strict=True)})
        cells.update({("home_region", v): c for v, c in zip(BREAKDOWNS["home_region"], regions, strict=True)})
        for (bd, val), count in cells.items():
            riket[(bd, val)] = riket.get((bd, val), 0) + count
            if bd == "total" or count > 0 or draw(st.booleans()):
                rows.append(row("enhet", unit, bd, val, n=count))
    for (bd, val), count in riket.items():
        rows.append(row("riket", "", bd, val, n=count))
    # A second indicator, a proportion, on the same counts: figures to empty.
    proportions = []
    for r in rows:
        numerator = r["n"] // 2
        value = 100.0 * numerator / r["n"] if r["n"] else NAN
        proportions.append(
            {**r, "indicator_id": "Ö1", "measure": "proportion", "value": value, "numerator": numerator,
             "denominator": r["n"], "ci_low": 1.0, "ci_high": 99.0}
        )
    df = frame(rows + proportions)
    order = draw(st.permutations(list(range(len(df)))))
    return df.iloc[order].reset_index(drop=True)


def withheld_per_relation(out: pd.DataFrame) -> pd.Series:
    """Withheld cells per additive relation, its total counted, by plain groupby (independent of the module)."""
    counts = []
    parts = out[out["breakdown"] != "total"]
    totals = out.loc[out["breakdown"] == "total", ["indicator_id", "level", "unit_id", "suppressed"]]
    by_breakdown = parts.groupby(["indicator_id", "level", "unit_id", "breakdown"])["suppressed"].sum().reset_index()
    a = by_breakdown.merge(totals, on=["indicator_id", "level", "unit_id"], suffixes=("_parts", "_total"))
    counts.append(a["suppressed_parts"] + a["suppressed_total"].astype(int))
    cell = ["indicator_id", "breakdown", "breakdown_value"]
    units = out[out["level"] == "enhet"].groupby(cell)["suppressed"].sum().reset_index()
    b = units.merge(out.loc[out["level"] == "riket", cell + ["suppressed"]], on=cell, suffixes=("_parts", "_total"))
    counts.append(b["suppressed_parts"] + b["suppressed_total"].astype(int))
    return pd.concat(counts, ignore_index=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=result_tables(), threshold=st.sampled_from([3, 5, 7]))
def test_property_suppressed_tables_meet_section_3(df, threshold):
    out = suppress(df, threshold=threshold)
    published = out[~out["suppressed"]]

    # Primary: no published 1 <= n < threshold; every withheld row has a reason.
    assert not ((published["n"] >= 1) & (published["n"] < threshold)).any()
    assert set(out.loc[out["suppressed"], "suppression_reason"]) <= {"small_n", "complementary"}
    assert (published["suppression_reason"] == "").all()

    # Secondary: no relation has exactly one withheld cell, counting its total
    # (the spec's "published total, one withheld part" and decision 3).
    assert (withheld_per_relation(out) != 1).all()

    # A withheld row has every figure empty.
    assert out.loc[out["suppressed"], WITHHELD_COLUMNS].isna().all().all()

    # Published rows are the input rows, unchanged.
    merged = published.merge(df, on=KEY, suffixes=("", "_in"), validate="one_to_one")
    assert len(merged) == len(published)
    for c in WITHHELD_COLUMNS:
        a, b = merged[c].astype("Float64"), merged[f"{c}_in"].astype("Float64")
        assert ((a == b) | (a.isna() & b.isna())).fillna(False).all(), c

    # Only rows with 1 <= n < threshold are small_n; others go only as complements.
    merged_all = out.merge(df[KEY + ["n"]], on=KEY, suffixes=("", "_in"))
    small = (merged_all["n_in"] >= 1) & (merged_all["n_in"] < threshold)
    assert (merged_all.loc[small, "suppression_reason"] == "small_n").all()
    assert set(merged_all.loc[~small & merged_all["suppressed"], "suppression_reason"]) <= {"complementary"}

    # Idempotent, and the input order does not matter.
    pd.testing.assert_frame_equal(suppress(out, threshold=threshold), out)
    reversed_in = df.iloc[::-1].reset_index(drop=True)
    pd.testing.assert_frame_equal(suppress(reversed_in, threshold=threshold), out)


def _relations_by_pandas(df: pd.DataFrame, n):
    """The relations as the keys joined by pandas Series operations give them (the definition the module follows)."""
    import numpy as np

    from nhv_pipeline.publication.disclosure import _INDICATOR_KEY, _build

    sep = "\x1f"

    def text(c):
        return df[c].fillna("").astype(str)

    indicator = df["report_year"].astype("int64").astype(str)
    for c in _INDICATOR_KEY[1:]:
        indicator = indicator + sep + text(c)
    level, unit_id, breakdown, value = text("level"), text("unit_id"), text("breakdown"), text("breakdown_value")
    rows = np.arange(len(df))
    is_total = (breakdown == "total").to_numpy()
    unit_key = indicator + sep + level + sep + unit_id
    a = _build(~is_total, (unit_key + sep + breakdown).to_numpy(),
               unit_key.map(pd.Series(rows[is_total], index=unit_key[is_total].to_numpy())).to_numpy(),
               value.to_numpy(), n)
    cell_key = indicator + sep + breakdown + sep + value
    is_riket = (level == "riket").to_numpy()
    b = _build((level == "enhet").to_numpy(), cell_key.to_numpy(),
               cell_key.map(pd.Series(rows[is_riket], index=cell_key[is_riket].to_numpy())).to_numpy(),
               unit_id.to_numpy(), n)
    return [a, b]


@pytest.mark.parametrize("variant", ["text", "missing values", "string dtype", "numbers"])
def test_relations_are_those_of_the_keys_joined_by_pandas(variant):
    import numpy as np

    from nhv_pipeline.publication.disclosure import _relations

    rows = [row("riket", None if variant == "missing values" else "", bd, v, n=10 + i)
            for i, (bd, v) in enumerate([("total", "total"), ("sex", "K"), ("sex", "M")])]
    rows += [row("enhet", u, bd, v, n=3 + i)
             for u in ("u1", "u2") for i, (bd, v) in enumerate([("total", "total"), ("sex", "K"), ("sex", "M")])]
    rows += [row("enhet", "u3", "sex", "K", n=0), row("enhet", "u3", "home_region", "01", n=2)]  # no total above
    df = frame(rows)
    if variant == "missing values":
        df.loc[df["level"] == "enhet", "breakdown_value"] = df["breakdown_value"].where(df["unit_id"] != "u3", np.nan)
    elif variant == "string dtype":
        df = df.astype({c: "string" for c in ["condition_id", "indicator_id", "level", "unit_id", "breakdown"]})
    elif variant == "numbers":
        df["breakdown_value"] = [1, 2, 3] * 3 + [1, 2]
    n = df["n"].fillna(0).to_numpy(dtype=np.int64)
    assert all(len(kind.part_row) for kind in _relations(df, n))
    for got, want in zip(_relations(df, n), _relations_by_pandas(df, n), strict=True):
        assert got.part_row.tolist() == want.part_row.tolist()
        assert got.part_rel.tolist() == want.part_rel.tolist()
        assert got.total_row.tolist() == want.total_row.tolist()
