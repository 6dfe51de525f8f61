"""The NHV conditions (permit areas) the pipeline knows, one package each, registered in this order.

Adding an area: a package beside these with the same small modules (contract, catalogue,
indicators, labels, sample_data) and a `CONDITION`, then one line here. See the README,
"Add a condition".
"""

from nhv_pipeline.condition import register

from . import sct_ssc, skeletal_dysplasia

for _package in (sct_ssc, skeletal_dysplasia):
    register(_package.CONDITION)
