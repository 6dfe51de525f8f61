"""Helpers for the reader's tests that read one file two ways (a fast path and the csv module's)."""

from __future__ import annotations

from contextlib import contextmanager

import pandas as pd

from nhv_pipeline.contract import reader


@contextmanager
def fast_path_watched(monkeypatch, name: str):
    """Inside the block `reader.<name>` (a fast path: text, delimiter -> table or None) records
    whether it gave a table; yields the list of those answers."""
    taken: list[bool] = []
    fast_path = getattr(reader, name)

    def watched(text, delimiter):
        table = fast_path(text, delimiter)
        taken.append(table is not None)
        return table

    with monkeypatch.context() as patched:
        patched.setattr(reader, name, watched)
        yield taken


def assert_same_read(fast, exact, columns) -> None:
    """Two FileReads of one file are equal: failures, frame (values, dtypes, types of the cells), rows, size, hash."""
    assert list(fast.failures) == list(exact.failures)
    assert (fast.frame is None) == (exact.frame is None)
    if exact.frame is not None:
        pd.testing.assert_frame_equal(fast.frame, exact.frame, check_index_type=True)
        assert list(fast.frame.dtypes) == list(exact.frame.dtypes)
        for column in columns:
            assert [type(v) for v in fast.frame[column]] == [type(v) for v in exact.frame[column]]
    assert (fast.rows, fast.sha256, fast.size_bytes) == (exact.rows, exact.sha256, exact.size_bytes)
