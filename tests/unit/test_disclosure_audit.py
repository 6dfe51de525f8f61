"""The disclosure audit (PUBLICATION.md section 3): no suppressed cell can be narrowed below the threshold.

Every check of a range here uses the attacker's solver of ``differencing.py``
(integer programming over the published rows only), not the audit's own ranges.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhv_pipeline.conditions import registered
from nhv_pipeline.publication import EqualPopulation, protect, suppress

from differencing import attack
from result_fixtures import NAN, frame, row

KEY = ["report_year", "indicator_id", "measure", "level", "unit_id", "breakdown", "breakdown_value"]


def ranges(published: pd.DataFrame) -> dict[tuple, tuple[float, float]]:
    """(indicator, level, unit, breakdown, value) -> (low, high) of every suppressed row, by the attacker."""
    out = attack(published)
    return {
        (r.indicator_id, r.level, r.unit_id, r.breakdown, r.breakdown_value): (r.low, r.high)
        for r in out.itertuples(index=False)
    }


def widths(published: pd.DataFrame) -> list[float]:
    return [high - low for low, high in ranges(published).values()]


def region_table(regions: dict[str, dict[str, int]], indicator="B1") -> pd.DataFrame:
    """B1-like rows: per unit a total and home_region rows; riket the sums. regions: unit -> value -> n."""
    rows = []
    riket: dict[str, int] = {}
    for unit, cells in regions.items():
        rows.append(row("enhet", unit, n=sum(cells.values()), indicator=indicator))
        for value, n in cells.items():
            rows.append(row("enhet", unit, "home_region", value, n=n, indicator=indicator))
            riket[value] = riket.get(value, 0) + n
    rows.append(row(n=sum(riket.values()), indicator=indicator))
    rows += [row(breakdown="home_region", bvalue=v, n=n, indicator=indicator) for v, n in riket.items()]
    return frame(rows)


# --- the cases of the issue ---------------------------------------------------


def test_one_small_unit_and_one_other_under_riket_6_is_protected():
    # Riket 09 = 6 = unit a 1 + unit b 5. Primary and secondary withhold a and b,
    # but a breakdown row is >= 1, so each is pinned to 1..5: narrower than 5.
    df = region_table({"a": {"01": 7, "09": 1}, "b": {"01": 9, "09": 5}})
    before = suppress(df)
    assert ranges(before)[("B1", "enhet", "a", "home_region", "09")] == (1, 5)

    out, report = protect(df, conditions=registered())
    assert report.passed and report.extra_suppressed > 0
    assert min(widths(out)) >= 5
    assert report.narrowest_range >= 5
    assert set(out.loc[out["suppression_reason"] == "audit", "suppressed"]) == {True}


def test_two_small_cells_under_riket_8_are_left_as_they_are():
    # Riket 99 = 8 = a 4 + b 4: with one mark and no reason, each is 1..7.
    df = region_table({"a": {"01": 20, "99": 4}, "b": {"01": 30, "99": 4}})
    out, report = protect(df, conditions=registered())
    assert report.passed
    got = ranges(out)
    assert got[("B1", "enhet", "a", "home_region", "99")][1] - got[("B1", "enhet", "a", "home_region", "99")][0] >= 5
    assert min(widths(out)) >= 5


def test_riket_minus_a_published_unit_over_two_small_cells_is_protected():
    # Riket 39 - a 37 = 2 over b 1 and c 1: each is exactly 1 without the audit.
    df = frame([row(n=39), row("enhet", "a", n=37), row("enhet", "b", n=1), row("enhet", "c", n=1)])
    before = suppress(df)
    assert set(before.loc[before["suppressed"], "unit_id"]) == {"b", "c"}
    # totals may be 0, so b, c are in 0..2: narrow.
    assert max(widths(before)) == 2

    out, report = protect(df, conditions=registered())
    assert report.passed and report.extra_suppressed >= 1
    assert min(widths(out)) >= 5
    assert bool(out.loc[out["unit_id"] == "a", "suppressed"].item())


def test_the_audit_never_reads_the_reason():
    # The same table with reasons swapped gives the same suppression.
    df = region_table({"a": {"01": 7, "09": 1}, "b": {"01": 9, "09": 5}})
    out, _ = protect(df, conditions=registered())
    relabelled = out.copy()
    relabelled["suppression_reason"] = relabelled["suppressed"].map({True: "x", False: ""})
    assert ranges(out) == ranges(relabelled)


# --- equal populations -----------------------------------------------------------


def test_an_equal_population_partner_is_withheld_with_the_cell():
    # X's units a and b are withheld (a came already marked); Y counts the same
    # population and would give both back.
    x = [row(n=20, indicator="X"), row("enhet", "a", n=12, indicator="X"), row("enhet", "b", n=8, indicator="X")]
    x[1]["suppressed"], x[1]["suppression_reason"] = True, "small_n"
    y = [row(n=20, indicator="Y"), row("enhet", "a", n=12, indicator="Y"), row("enhet", "b", n=8, indicator="Y")]
    df = frame(x + y)
    same = (EqualPopulation("sct_ssc", "Y", "count", "X", "count"),)

    out, report = protect(df, equal_populations=(), conditions=registered())
    assert not out.loc[out["indicator_id"] == "Y", "suppressed"].any()
    out, report = protect(df, equal_populations=same, conditions=registered())
    assert report.passed
    withheld_y = out.loc[(out["indicator_id"] == "Y") & out["suppressed"], "unit_id"].tolist()
    assert sorted(withheld_y) == ["a", "b"]


def test_default_declarations_tie_o1_to_b1():
    # Ö1's denominator is the B1 population: a unit total withheld in B1 only would come back from Ö1.
    b1 = [row(n=30), row("enhet", "a", n=12), row("enhet", "b", n=18)]
    b1[1]["suppressed"], b1[1]["suppression_reason"] = True, "small_n"
    o1 = [
        row(level, unit, n=n, indicator="Ö1", measure="proportion", numerator=n // 2, denominator=n,
            value=50.0, ci_low=1.0, ci_high=99.0)
        for level, unit, n in [("riket", "", 30), ("enhet", "a", 12), ("enhet", "b", 18)]
    ]
    out, report = protect(frame(b1 + o1), conditions=registered())
    assert report.passed
    assert out.loc[out["indicator_id"] == "Ö1", "suppressed"].tolist() == [False, True, True]
    assert min(widths(out)) >= 5


def test_an_earlier_year_is_audited_but_never_changed():
    # R2 of 2026 counts B3's population of 2024. 2024's B3 withheld a and b; R2 of 2026 must too.
    b3 = frame([row(n=21, indicator="B3"), row("enhet", "a", n=6, indicator="B3"), row("enhet", "b", n=15, indicator="B3")])
    b3["report_year"] = 2024
    b3.loc[b3["unit_id"] != "", ["suppressed", "suppression_reason"]] = [True, "complementary"]
    r2 = frame([
        row(level, unit, n=n, indicator="R2", measure="proportion", numerator=n - 1, denominator=n,
            value=80.0, ci_low=1.0, ci_high=99.0)
        for level, unit, n in [("riket", "", 21), ("enhet", "a", 6), ("enhet", "b", 15)]
    ])
    alone, _ = protect(r2, conditions=registered())
    assert not alone["suppressed"].any()
    out, report = protect(r2, context=b3, conditions=registered())
    assert report.passed
    assert out["suppressed"].tolist() == [False, True, True]


def test_an_earlier_cell_is_held_to_the_width_its_own_publication_left():
    # Earlier year: riket 10 = a 2 (withheld) + b 8 (published): a was exact already (not this
    # year's doing), so this year is not failed for it; this year's own cells are audited as usual.
    ctx = frame([row(n=10, indicator="B3"), row("enhet", "a", n=2, indicator="B3"), row("enhet", "b", n=8, indicator="B3")])
    ctx["report_year"] = 2024
    ctx.loc[ctx["unit_id"] == "a", ["suppressed", "suppression_reason"]] = [True, "small_n"]
    now = frame([row(n=50, indicator="B1"), row("enhet", "a", n=2, indicator="B1"), row("enhet", "b", n=48, indicator="B1")])
    out, report = protect(now, context=ctx, conditions=registered())
    assert report.passed and report.unmet == []
    assert out["suppressed"].tolist() == [False, True, True]


def test_an_unmet_audit_fails_and_names_cells_without_figures():
    df = frame([row(n=39), row("enhet", "a", n=37), row("enhet", "b", n=1), row("enhet", "c", n=1)])
    out, report = protect(df, max_rounds=0, withhold_breakdowns=False, conditions=registered())
    assert not report.passed
    assert report.unmet == ["2026 sct_ssc B1 count b total=total", "2026 sct_ssc B1 count c total=total"]
    assert report.narrowest_range == 2
    assert not any(ch.isdigit() for cell in report.unmet for ch in cell.split(" total")[0].split("count ")[1])


# --- property test ------------------------------------------------------------------


@st.composite
def additive_tables(draw):
    """Random riket/enhet B1 tables (sex and region breakdowns) plus Ö1 on the same population.

    As the pipeline makes them: every total the sum of its parts, riket the
    sum of the units, a breakdown row only for a value that occurs.
    """
    rows = []
    riket: dict[tuple[str, str], int] = {}
    for u in range(draw(st.integers(1, 4))):
        unit = f"u{u}"
        sexes = {"K": draw(st.integers(0, 25)), "M": draw(st.integers(0, 25))}
        total = sum(sexes.values())
        cut1 = draw(st.integers(0, total))
        cut2 = draw(st.integers(cut1, total))
        cells = {("total", "total"): total, **{("sex", k): v for k, v in sexes.items()}}
        cells.update({("home_region", "01"): cut1, ("home_region", "03"): cut2 - cut1, ("home_region", "09"): total - cut2})
        for (bd, val), count in cells.items():
            riket[(bd, val)] = riket.get((bd, val), 0) + count
            if bd == "total" or count > 0:
                rows.append(row("enhet", unit, bd, val, n=count))
    rows += [row("riket", "", bd, val, n=c) for (bd, val), c in riket.items() if bd == "total" or c > 0]
    o1 = [
        {**r, "indicator_id": "Ö1", "measure": "proportion", "numerator": r["n"] // 3, "denominator": r["n"],
         "value": 100.0 * (r["n"] // 3) / r["n"] if r["n"] else NAN, "ci_low": 1.0, "ci_high": 99.0}
        for r in rows
        if r["breakdown"] == "total"
    ]
    return frame(rows + o1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=additive_tables(), threshold=st.sampled_from([3, 5]))
def test_property_no_suppressed_cell_narrower_than_the_threshold(df, threshold):
    out, report = protect(df, threshold=threshold, conditions=registered())
    assert report.passed
    before = suppress(df, threshold=threshold)

    # Every suppressed cell, as the attacker sees it, spans at least the threshold.
    assert all(w >= threshold for w in widths(out)), ranges(out)

    # The audit only adds suppression; the published rows are the input rows, unchanged.
    merged = out.merge(before[KEY + ["suppressed"]], on=KEY, suffixes=("", "_before"), validate="one_to_one")
    assert (merged["suppressed"] | ~merged["suppressed_before"]).all()
    assert report.extra_suppressed == int(merged["suppressed"].sum() - merged["suppressed_before"].sum())
    published = out[~out["suppressed"]].merge(df, on=KEY, suffixes=("", "_in"), validate="one_to_one")
    for c in ["n", "numerator", "value"]:
        a, b = published[c].astype("Float64"), published[f"{c}_in"].astype("Float64")
        assert ((a == b) | (a.isna() & b.isna())).fillna(False).all(), c
    # Withheld rows have n empty, and an audit row is marked like any other.
    assert out.loc[out["suppressed"], "n"].isna().all()
    assert set(out.loc[out["suppressed"], "suppression_reason"]) <= {"small_n", "complementary", "audit"}


def test_audit_context_takes_the_lagged_rows_as_published_and_skips_a_year_that_no_longer_matches():
    from nhv_pipeline.orchestration.assets.published import audit_context

    b3 = frame([row(n=21, indicator="B3"), row("enhet", "a", n=6, indicator="B3"), row("enhet", "b", n=15, indicator="B3"),
                row(n=9, indicator="B1")])
    b3["report_year"] = 2024
    published = suppress(b3)
    published.loc[published["unit_id"] == "a", ["suppressed", "n"]] = [True, pd.NA]
    ctx = audit_context(2026, b3, published)
    assert sorted(ctx["indicator_id"]) == ["B3", "B3", "B3"]
    assert ctx.set_index("unit_id")["suppressed"].to_dict() == {"": False, "a": True, "b": False}
    # The stored results changed after the publication: that year is left out.
    changed = b3.copy()
    changed.loc[changed["unit_id"] == "b", "n"] = 16
    assert audit_context(2026, changed, published).empty
    assert audit_context(2025, b3, published).empty  # R2 of 2025 reads no B3 of 2023 here


# --- a breakdown withheld as a whole (PUBLICATION.md section 3) -----------------------------


def _cohort_under_a_total_published_last_year(parts: dict[str, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """R1's cohort of this year, by sex, whose total equals B1's population published last year."""
    total = sum(parts.values())
    this = frame(
        [row(n=total, indicator="R1")]
        + [row(breakdown="sex", bvalue=value, n=n, indicator="R1") for value, n in parts.items()]
    )
    last = frame([row(n=total, indicator="B1")]).assign(report_year=2025)
    return this, last


COHORT_IS_LAST_YEARS_B1 = (EqualPopulation("sct_ssc", "R1", "count", "B1", "count", year_lag=1),)


def test_a_breakdown_more_cells_cannot_protect_is_withheld_as_a_whole_instead_of_failing():
    # R1 total 6 is public through B1 of last year (an equal population). K = 1 and M = 5 are
    # withheld, but a breakdown row is >= 1, so K is pinned to 1..5; no cell of this year can widen
    # it (the total is public whatever is withheld now).
    this, last = _cohort_under_a_total_published_last_year({"K": 1, "M": 5})
    _, cells_only = protect(this, equal_populations=COHORT_IS_LAST_YEARS_B1, context=last, withhold_breakdowns=False,
                            conditions=registered())
    assert not cells_only.passed
    assert cells_only.unmet == ["2026 sct_ssc R1 count riket sex=K", "2026 sct_ssc R1 count riket sex=M"]

    out, report = protect(
        this, equal_populations=COHORT_IS_LAST_YEARS_B1, context=last,
        breakdown_values={"sex": {"K": "Kvinnor", "M": "Män", "X": "Annat"}}, conditions=registered(),
    )
    assert report.passed and report.unmet == []
    assert report.withheld_breakdowns == ["sct_ssc R1 riket sex"]
    sex = out[(out["indicator_id"] == "R1") & (out["breakdown"] == "sex")].set_index("breakdown_value")
    # Every value of the vocabulary has a row (X did not occur: n = 0, withheld like the others),
    # so the rows no longer tell which values occur.
    assert sorted(sex.index) == ["K", "M", "X"]
    assert sex["suppressed"].all() and sex["n"].isna().all()
    assert sex.loc["X", "breakdown_label"] == "Annat"
    assert set(sex["suppression_reason"]) <= {"small_n", "complementary", "audit"}
    # The attacker, told this case's equality and that a breakdown listing every value may be one
    # withheld as a whole, reads last year's publication and this one: nothing narrower than 5.
    published = pd.concat([last, out], ignore_index=True)
    found = attack(published, equalities=[("sct_ssc", "R1", "B1", 1)], vocabularies={"sex": {"K", "M", "X"}})
    sex_ranges = found[(found["indicator_id"] == "R1") & (found["breakdown"] == "sex")]
    assert len(sex_ranges) == 3 and ((sex_ranges["high"] - sex_ranges["low"]) >= 5).all(), sex_ranges
    # Without the rule, the attacker would have K in 1..5 before the breakdown was withheld.
    before = attack(pd.concat([last, suppress(this)], ignore_index=True), equalities=[("sct_ssc", "R1", "B1", 1)])
    k = before[(before["breakdown"] == "sex") & (before["breakdown_value"] == "K")].iloc[0]
    assert (k["low"], k["high"]) == (1, 5)


def test_a_breakdown_withheld_as_a_whole_that_still_cannot_be_protected_fails_the_audit():
    # R1 total 4 public through last year's B1 (as published then): K 1, M 3 lie in 0..4 even with
    # every value listed, narrower than 5: the condition's audit fails.
    this, last = _cohort_under_a_total_published_last_year({"K": 1, "M": 3})
    _, report = protect(
        this, equal_populations=COHORT_IS_LAST_YEARS_B1, context=last,
        breakdown_values={"sex": {"K": "Kvinnor", "M": "Män"}}, conditions=registered(),
    )
    assert not report.passed
    assert report.withheld_breakdowns == ["sct_ssc R1 riket sex"]
