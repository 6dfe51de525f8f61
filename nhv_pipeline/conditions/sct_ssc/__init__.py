"""sct_ssc — stem cell transplantation at systemic sclerosis (seed 000_230e9ad7520d9e65.txt).

DATA_CONTRACT.md section 4, INDICATORS.md section 2.
"""

from datetime import date

from nhv_pipeline.core.condition import Condition, DeliveryRule

from . import labels, sample_data
from .catalogue import CONDITION_ID, POPULATIONS, SPECIFICATIONS
from .contract import TABLES
from .delivery_rules import transplant_history

CONDITION = Condition(
    condition_id=CONDITION_ID,
    name="Stamcellstransplantation vid systemisk skleros",
    start=date(2023, 1, 1),
    tables=TABLES,
    specifications=SPECIFICATIONS,
    delivery_rules=(
        DeliveryRule("transplant_history", ("transplants", "followup"), transplant_history, reads_earlier_deliveries=True),
    ),
    breakdown_labels=labels.BREAKDOWN_LABELS,
    breakdown_names=labels.BREAKDOWN_NAMES,
    sample_data=sample_data.deliveries,
    sample_units=sample_data.UNITS,
    populations=POPULATIONS,
)
