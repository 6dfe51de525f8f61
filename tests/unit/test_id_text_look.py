"""The quick look over an id column (`schema._no_bad_id`) never passes a column the cell-by-cell id rule fails.

`id_text` (DATA_CONTRACT.md 3: printable ASCII, no spreadsheet formula) first looks at the whole
column joined into one text; only when that look finds something are the cells checked one by one.
A wrong yes would let a formula or an invisible character through, so the look is checked
against the cell rule on generated columns, empty cells, line breaks and formula starts included.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from nhv_pipeline.contract import schema

CELL = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(list("aB1_ =+-@\n\r\t\x00\x7f\u00e9\u200b\ufeff")), max_size=5),
)


def _cells_pass(values: pd.Series) -> bool:
    text = values.astype(object).astype("string")
    bad = text.str.match(schema.ID_FORMULA_START) | text.str.contains(schema.ID_CONTROL_CHARACTER, regex=True)
    return not bad.fillna(False).astype(bool).any()


@settings(max_examples=500, deadline=None)
@given(st.lists(CELL, max_size=6))
def test_the_quick_look_passes_a_column_only_when_every_cell_does(cells):
    values = pd.Series(cells, dtype=object)
    if schema._no_bad_id(values):
        assert _cells_pass(values)
    assert bool(schema.id_text(values).all()) is _cells_pass(values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(list("aB1_ .")), max_size=5)), max_size=6))
def test_a_column_of_plain_ids_passes_the_quick_look(cells):
    assert schema._no_bad_id(pd.Series(cells, dtype=object))
