"""Keys of several columns as one integer per row, over two frames at once: equal keys, equal codes.

The delivery rules look a row's key up in another table (a patient in patients.csv, a contact's
referral) and the indicators attach a patient's attributes by it. Lookups on these codes replace
MultiIndex lookups on tuple keys and merges on several columns, which cost more as the rows grow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def key_codes(left: pd.DataFrame, right: pd.DataFrame, on: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One int64 code per row of each frame for the key columns `on`: equal keys, equal codes.

    Each column is factorised over both frames at once (hashing, linear in rows): as it is stored
    when both frames store it alike, else as Python objects. The codes are combined column by column;
    a missing value is a value of its own, as in a MultiIndex (and as pandas' merge matches them).
    """
    count = len(left)
    combined = np.zeros(count + len(right), dtype="int64")
    for column in on:
        ours, theirs = left[column], right[column]
        native = ours.dtype == theirs.dtype and isinstance(ours.dtype, np.dtype)
        values = np.concatenate([
            ours.to_numpy() if native else ours.to_numpy(dtype=object),
            theirs.to_numpy() if native else theirs.to_numpy(dtype=object),
        ])
        codes, uniques = pd.factorize(values)
        combined, _ = pd.factorize(combined * (len(uniques) + 1) + (codes + 1))
    return combined[:count], combined[count:]
