"""The storage class under its name before the layout of the package changed.

A Dagster home made before then has a `dagster.yaml` whose `storage: custom: module:` names this
module; it keeps loading. The class lives in `orchestration/storage.py`, which new homes name.
"""

from nhv_pipeline.orchestration.storage import SqliteStorage

__all__ = ["SqliteStorage"]
