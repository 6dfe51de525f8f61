"""Registers the test-only third condition for a whole session: NHV_CONDITION_MODULES=register_third_condition.

`.ci/run` runs the whole suite a second time this way, so every test also sees an area shaped
like a newcomer's (tests/third_condition.py).
"""

from nhv_pipeline.conditions import register

import third_condition

register(third_condition.CONDITION)
