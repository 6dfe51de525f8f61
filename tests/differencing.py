"""An attacker's differencing solver over published tables, written apart from the pipeline's audit.

It reads only what a reader of the publication has: the published rows (``n``
and ``numerator`` empty where ``suppressed``), the additive relations of
PUBLICATION.md section 3, the populations INDICATORS.md defines as equal, and
that a breakdown row exists only for a value that occurs (n >= 1), except in a
breakdown withheld as a whole (every row of it, for one indicator and level,
suppressed and every value of its vocabulary listed: such rows occur whether or
not the value does, PUBLICATION.md section 3). It ignores any reason column. Unlike the audit it solves the *integer* problem
(``scipy.optimize.milp``), a stronger attacker than the audit's relaxation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

#: (condition, indicator, other indicator, year lag): n(indicator, R) == n(other, R - lag), matched by
#: level, unit, breakdown and breakdown value. Written from INDICATORS.md, not imported.
EQUALITIES = [
    ("sct_ssc", "Ö1", "B1", 0),  # Ö1 denominator: the B1 population
    ("sct_ssc", "T2", "B3", 0),  # both: transplants reinfused in P(R)
    ("sct_ssc", "R2", "B3", 2),  # R2 denominator: the whole cohort, B3 of R-2
    ("skeletal_dysplasia", "B3", "B1", 0),  # B3: the B1 population
]
PROPORTIONS = {"proportion", "response_rate", "positive_share"}


def read_published(folder) -> pd.DataFrame:
    """Every year's published indicator_results.csv under ``folder`` (the published root)."""
    frames = [
        pd.read_csv(path, dtype={"unit_id": str, "breakdown_value": str}, keep_default_na=False, na_values=[""])
        for path in sorted(folder.glob("*/indicator_results.csv"))
    ]
    df = pd.concat(frames, ignore_index=True)
    df["unit_id"] = df["unit_id"].fillna("")
    df["suppressed"] = df["suppressed"].astype(str).str.lower().isin(["true", "1"])
    return df


def attack(
    published: pd.DataFrame, equalities=EQUALITIES, vocabularies: dict[str, set[str]] | None = None
) -> pd.DataFrame:
    """Per suppressed row: its key and the smallest and largest n an integer solver allows.

    ``vocabularies``: breakdown -> every value it can take, for the breakdowns withheld as a whole.
    """
    df = published.reset_index(drop=True)
    df["unit_id"] = df["unit_id"].fillna("").astype(str)
    hidden = df["suppressed"].to_numpy(dtype=bool)
    is_prop = df["measure"].isin(PROPORTIONS).to_numpy()
    variables: dict[tuple[int, str], int] = {}
    for i in np.flatnonzero(hidden):
        variables[(i, "n")] = len(variables)
        if is_prop[i]:
            variables[(i, "numerator")] = len(variables)

    def term(i: int, column: str):
        if (i, column) in variables:
            return variables[(i, column)], None
        return None, float(df.at[i, column])

    rows_a, lo_a, hi_a = [], [], []

    def add_equation(plus: list[int], minus: list[int], column: str) -> None:
        line = np.zeros(len(variables))
        constant = 0.0
        for sign, members in ((1.0, plus), (-1.0, minus)):
            for i in members:
                v, known = term(i, column)
                if v is None:
                    constant += sign * known
                else:
                    line[v] += sign
        if line.any():
            rows_a.append(line)
            lo_a.append(-constant)
            hi_a.append(-constant)

    columns = ["n"]
    indicator = ["report_year", "condition_id", "indicator_id", "measure"]
    for keys, group in df.groupby(indicator + ["level", "unit_id"]):
        totals = group.index[group["breakdown"] == "total"]
        if len(totals) != 1:
            continue
        for _, parts in group[group["breakdown"] != "total"].groupby("breakdown"):
            for column in columns + (["numerator"] if keys[3] in PROPORTIONS else []):
                add_equation([int(totals[0])], [int(i) for i in parts.index], column)
    for keys, group in df.groupby(indicator + ["breakdown", "breakdown_value"]):
        riket = group.index[group["level"] == "riket"]
        units = group.index[group["level"] == "enhet"]
        if len(riket) != 1 or len(units) == 0:
            continue
        for column in columns + (["numerator"] if keys[3] in PROPORTIONS else []):
            add_equation([int(riket[0])], [int(i) for i in units], column)

    where = {
        (int(r.report_year), r.condition_id, r.indicator_id, r.level, r.unit_id, r.breakdown, str(r.breakdown_value)): i
        for i, r in enumerate(df.itertuples(index=False))
    }
    for condition, ind, other, lag in equalities:
        for key, i in where.items():
            year, cond, this, level, unit, breakdown, value = key
            if cond != condition or this != ind:
                continue
            j = where.get((year - lag, cond, other, level, unit, breakdown, value))
            if j is not None:
                add_equation([i], [j], "n")

    # numerator <= n
    for (i, column), v in variables.items():
        if column == "numerator":
            line = np.zeros(len(variables))
            line[v] = 1.0
            line[variables[(i, "n")]] = -1.0
            rows_a.append(line)
            lo_a.append(-np.inf)
            hi_a.append(0.0)

    whole = set()
    for (condition, ind, level, breakdown), group in df.groupby(["condition_id", "indicator_id", "level", "breakdown"]):
        values = (vocabularies or {}).get(breakdown)
        if values and group["suppressed"].all() and values <= set(group["breakdown_value"].astype(str)):
            whole |= set(group.index)
    lower = np.zeros(len(variables))
    for (i, column), v in variables.items():
        if column == "n" and df.at[i, "breakdown"] != "total" and i not in whole:
            lower[v] = 1.0
    bounds = Bounds(lower, np.full(len(variables), np.inf))
    constraints = [LinearConstraint(np.array(rows_a), lo_a, hi_a)] if rows_a else []
    integrality = np.ones(len(variables))

    out = []
    for (i, column), v in variables.items():
        if column != "n":
            continue
        c = np.zeros(len(variables))
        c[v] = 1.0
        low = milp(c, constraints=constraints, integrality=integrality, bounds=bounds)
        high = milp(-c, constraints=constraints, integrality=integrality, bounds=bounds)
        assert low.status == 0, f"the published tables are inconsistent ({low.message})"
        hi = -high.fun if high.status == 0 else np.inf
        r = df.iloc[i]
        out.append(
            {
                "report_year": int(r["report_year"]), "condition_id": r["condition_id"],
                "indicator_id": r["indicator_id"], "measure": r["measure"], "level": r["level"],
                "unit_id": r["unit_id"], "breakdown": r["breakdown"], "breakdown_value": str(r["breakdown_value"]),
                "low": round(low.fun), "high": hi if hi == np.inf else round(hi),
            }
        )
    return pd.DataFrame(out)
