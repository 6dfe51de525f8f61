"""skeletal_dysplasia — skeletal dysplasias (seed 001_8699641104d83d35.txt).

DATA_CONTRACT.md section 5, INDICATORS.md section 3.
"""

from datetime import date

from nhv_pipeline.core.condition import Condition, DeliveryRule

from . import labels, sample_data
from .catalogue import CONDITION_ID, POPULATIONS, SPECIFICATIONS
from .contract import TABLES
from .delivery_rules import contact_referrals

CONDITION = Condition(
    condition_id=CONDITION_ID,
    name="Skelettdysplasier",
    start=date(2025, 9, 1),
    tables=TABLES,
    specifications=SPECIFICATIONS,
    delivery_rules=(DeliveryRule("contact_referrals", ("contacts", "referrals"), contact_referrals),),
    breakdown_labels=labels.BREAKDOWN_LABELS,
    breakdown_names=labels.BREAKDOWN_NAMES,
    sample_data=sample_data.deliveries,
    sample_units=sample_data.UNITS,
    populations=POPULATIONS,
)
