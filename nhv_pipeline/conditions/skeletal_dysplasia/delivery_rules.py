"""skeletal_dysplasia rules across tables (DATA_CONTRACT.md 5.3): what one table's model cannot hold."""

from __future__ import annotations

import pandas as pd

from nhv_pipeline.core.condition import DeliveryContext
from nhv_pipeline.contract import rules
from nhv_pipeline.contract.schema import usable
from nhv_pipeline.contract.values import key_match


def contact_referrals(ctx: DeliveryContext) -> pd.DataFrame:
    """A contact's referral_id names a referral of the unit, and the contact is not before it (5.3)."""
    contacts, referrals = ctx.tables["contacts"], ctx.tables["referrals"]
    parts = []
    named = contacts["unit_id"].isin(ctx.read_units.get("referrals", set())) & usable(contacts["referral_id"])
    # The date of each (unit, referral) is that of its first row with a usable referral_id.
    known, answered = key_match(contacts, referrals, ["unit_id", "referral_id"],
                                ctx.dated["referrals"]["referral_date"].to_numpy(), usable(referrals["referral_id"]).to_numpy())
    unknown = named & ~known
    parts.append(
        rules.failures_where(contacts, unknown, "referral_id", rules.REFERENCE,
                          "Detta referral_id anger ingen remiss i enhetens referrals.csv; rätta id:t eller lägg till remissen.")
    )
    early = ctx.dated["contacts"]["contact_date"].to_numpy() < answered
    parts.append(
        rules.failures_where(contacts, early, "contact_date", rules.DATE_ORDER,
                          "contact_date är före referral_date för remissen som kontakten besvarar; rätta datumet eller referral_id.")
    )
    return rules.concat(parts)
