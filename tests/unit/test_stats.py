"""Statistics of INDICATORS.md section 1, pinned on values worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from nhv_pipeline.indicators.stats import (
    Z95,
    age_in_completed_years,
    as_datetime,
    day_difference,
    distribution_summary,
    percent,
    proportion_summary,
    wilson_interval,
)

Z2 = Z95 * Z95  # 3.841458820694124


def _dates(*values: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values)))


# --- age ---------------------------------------------------------------------


def test_age_counts_birthday_on_the_day_itself():
    # Section 1 example: born 2000-03-01 is 24 on 2024-03-01 and 23 on 2024-02-29.
    ages = age_in_completed_years(_dates("2000-03-01", "2000-03-01"), _dates("2024-03-01", "2024-02-29"))
    assert ages.tolist() == [24, 23]


def test_age_of_29_february_birthday_turns_on_1_march_in_common_years():
    born = _dates("2000-02-29", "2000-02-29", "2000-02-29", "2000-02-29")
    at = _dates("2023-02-28", "2023-03-01", "2024-02-28", "2024-02-29")
    # 2023 is not a leap year: the birthday is 1 March (22 on 28 Feb, 23 on 1 Mar).
    # 2024 is a leap year: the birthday is 29 Feb (23 on 28 Feb, 24 on 29 Feb).
    assert age_in_completed_years(born, at).tolist() == [22, 23, 23, 24]


def test_age_is_zero_before_the_first_birthday_and_keeps_the_index():
    born = pd.Series(pd.to_datetime(["2024-09-02", "2024-09-01"]), index=[7, 9])
    at = pd.Series(pd.to_datetime(["2025-09-01", "2025-09-01"]), index=[7, 9])
    ages = age_in_completed_years(born, at)
    assert ages.tolist() == [0, 1]
    assert ages.index.tolist() == [7, 9]


def test_age_accepts_other_datetime_units():
    born = _dates("2000-03-01").astype("datetime64[s]")
    at = _dates("2024-03-01").astype("datetime64[ms]")
    assert age_in_completed_years(born, at).tolist() == [24]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_as_datetime_gives_nanoseconds_from_any_datetime_unit_keeping_name_index_and_gaps(unit):
    dates = pd.Series(pd.to_datetime(["2024-02-29", None, "1900-01-01"]), index=[4, 2, 9], name="d").astype(f"datetime64[{unit}]")
    converted = as_datetime(dates)
    assert converted.dtype == "datetime64[ns]"
    assert converted.name == "d" and converted.index.tolist() == [4, 2, 9]
    assert converted.tolist()[0] == pd.Timestamp("2024-02-29") and pd.isna(converted.iloc[1])
    assert converted.iloc[2] == pd.Timestamp("1900-01-01")


def test_as_datetime_returns_a_new_column_and_parses_text():
    dates = _dates("2024-01-01")
    converted = as_datetime(dates)
    converted.iloc[0] = pd.Timestamp("1999-12-31")
    assert dates.iloc[0] == pd.Timestamp("2024-01-01")
    assert as_datetime(pd.Series(["2024-03-01", None])).tolist()[0] == pd.Timestamp("2024-03-01")
    assert as_datetime(pd.Series(["2024-03-01", None])).dtype == "datetime64[ns]"


def test_day_difference_counts_calendar_days_across_a_leap_day():
    # 2024-02-28 -> 2024-03-01 passes 29 Feb: 2 days; 2023-02-28 -> 2023-03-01: 1 day.
    later = _dates("2024-03-01", "2023-03-01", "2024-01-01")
    earlier = _dates("2024-02-28", "2023-02-28", "2024-01-01")
    assert day_difference(later, earlier).tolist() == [2, 1, 0]


# --- distribution -------------------------------------------------------------


def test_distribution_of_one_value_has_no_sd_and_equal_percentiles():
    summary = distribution_summary([7.0])
    assert summary["n"] == 1
    assert summary["mean"] == 7.0
    assert math.isnan(summary["sd"])  # n - 1 = 0: empty
    assert summary["p10"] == summary["median"] == summary["p90"] == 7.0


def test_distribution_of_two_values_interpolates_type_7():
    # Type 7: h = (N-1)p; [1, 3]: p10 at h=0.1 -> 1 + 0.1*2 = 1.2; median 2; p90 -> 1 + 0.9*2 = 2.8.
    # sd = |3-1| / sqrt(2) = sqrt(2).
    summary = distribution_summary([3.0, 1.0])
    assert summary["n"] == 2
    assert summary["mean"] == 2.0
    assert summary["sd"] == pytest.approx(math.sqrt(2))
    assert summary["p10"] == pytest.approx(1.2)
    assert summary["median"] == pytest.approx(2.0)
    assert summary["p90"] == pytest.approx(2.8)


def test_distribution_of_five_values_interpolates_type_7():
    # Sorted [1, 2, 3, 4, 10]: p10 at h=0.4 -> 1 + 0.4*(2-1) = 1.4; median x3 = 3;
    # p90 at h=3.6 -> 4 + 0.6*(10-4) = 7.6. Mean 20/5 = 4; squared deviations
    # 9+4+1+0+36 = 50; sd = sqrt(50/4) = sqrt(12.5).
    summary = distribution_summary([10, 1, 4, 2, 3])
    assert summary["n"] == 5
    assert summary["mean"] == 4.0
    assert summary["sd"] == pytest.approx(math.sqrt(12.5))
    assert summary["p10"] == pytest.approx(1.4)
    assert summary["median"] == pytest.approx(3.0)
    assert summary["p90"] == pytest.approx(7.6)


def test_distribution_of_nothing_is_n_zero_and_empty():
    summary = distribution_summary([])
    assert summary["n"] == 0
    assert all(math.isnan(summary[key]) for key in ("mean", "sd", "p10", "median", "p90"))


# --- proportion ----------------------------------------------------------------


def test_percent_is_empty_when_the_denominator_is_zero():
    assert math.isnan(percent(0, 0))
    assert percent(1, 4) == 25.0


def test_wilson_interval_of_0_over_0_is_empty():
    low, high = wilson_interval(0, 0)
    assert math.isnan(low) and math.isnan(high)


def test_wilson_interval_of_0_over_n_starts_at_zero():
    # p = 0: centre = half width = (z²/2n)/(1+z²/n), so low = 0 and
    # high = (z²/n)/(1+z²/n) = z²/(n+z²) = 3.841459/13.841459 = 27.7532... %.
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(100 * Z2 / (10 + Z2))
    assert high == pytest.approx(27.7533, abs=1e-4)


def test_wilson_interval_of_n_over_n_ends_at_hundred():
    # Mirror of 0/n: low = n/(n+z²) = 10/13.841459 = 72.2467... %, high = 100.
    low, high = wilson_interval(10, 10)
    assert high == 100.0
    assert low == pytest.approx(100 * 10 / (10 + Z2))
    assert low == pytest.approx(72.2467, abs=1e-4)


def test_wilson_interval_of_one_half():
    # 5/10: p = 0.5, centre = 0.5 exactly; half width = z*sqrt(0.025 + z²/400)/(1+z²/10)
    # = 1.959964*sqrt(0.0346037)/1.3841459 = 1.959964*0.1860207/1.3841459 = 0.2634069
    # -> 23.6593 .. 76.3407 %.
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(23.6593, abs=1e-4)
    assert high == pytest.approx(76.3407, abs=1e-4)
    assert low + high == pytest.approx(100.0)


def test_proportion_summary_sets_n_to_the_denominator():
    summary = proportion_summary(3, 4)
    assert summary["n"] == 4
    assert summary["numerator"] == 3
    assert summary["denominator"] == 4
    assert summary["value"] == 75.0
    assert summary["ci_low"] < 75.0 < summary["ci_high"]


def test_distribution_of_a_column_an_array_and_a_generator_is_the_same():
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]
    expected = distribution_summary(values)
    series = pd.Series(values, index=[9, 8, 7, 6, 5, 4, 3])
    assert distribution_summary(series) == expected
    assert distribution_summary(series.to_numpy()) == expected
    assert distribution_summary(value for value in values) == expected
