"""Rule building blocks that several conditions' specifications share (INDICATORS.md)."""

from __future__ import annotations

import pandas as pd

from nhv_pipeline.indicators.model import RuleContext


def survey_response_rate(ctx: RuleContext) -> pd.DataFrame:
    """Recipients: distinct patients with a survey row sent in P(R); hit: a response on such a row.

    INDICATORS.md 2-3: the response rate of a P1 indicator (one condition's P1 is defined "as for" another's).
    """
    survey = ctx.table("survey")
    sent = survey[ctx.in_period(survey["sent_date"])]
    sent = sent.assign(hit=sent["response_date"].notna())
    return sent.groupby(["unit_id", "patient_id"], as_index=False, sort=True)["hit"].any()
