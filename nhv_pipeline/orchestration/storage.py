"""Dagster's SQLite storage, keeping its database connections open.

The Dagster home of `nhv-pipeline run` keeps runs, event logs and schedules in SQLite
files, as Dagster's default storage does, and in the same layout (`history/runs.db`,
`history/runs/<run_id>.db` and `index.db`, `schedules/schedules.db`), so `dagster dev`,
the daemon and every Dagster command read it as before.

What differs is how the files are opened. Dagster's SQLite storages make a new engine
and connection for every read and write. A run of one report year stores a few hundred
events, each in a connection of its own, and closing a file's last connection
checkpoints its write-ahead log to disk: most of a small run's time went to opening,
syncing and closing files (profile in benchmarks/RESULTS.md). Here each database has one
engine per process, whose connection stays open between transactions, and commits wait
for the disk only at checkpoints (`synchronous=NORMAL` in WAL mode, SQLite's advice for
WAL). A process that is killed loses nothing it committed; a power cut can lose the
last moments of run history, never the warehouse or a publication, and never leaves
the files inconsistent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

CHECKED_WITH_DAGSTER = "1.13.27"
"""The Dagster version this module was written and tested against. It subclasses Dagster's private
SQLite storages (`dagster._core...`), overrides private methods and skips their `__init__`, which a
Dagster upgrade may change without notice: tests/pipeline/test_dagster_storage.py fails on any other version
until the module has been checked against it and this constant moved with the pin."""

KEPT_ENGINES = 16
"""Databases kept open per storage: the index, the runs table and the latest runs' event logs."""


class Engines:
    """One engine per SQLite file, least recently used closed beyond `KEPT_ENGINES`."""

    def __init__(self) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conn_string: str) -> Engine:
        with self._lock:
            engine = self._engines.pop(conn_string, None) or _engine(conn_string)
            self._engines[conn_string] = engine
            while len(self._engines) > KEPT_ENGINES:
                self._engines.popitem(last=False)[1].dispose()
            return engine

    def dispose(self) -> None:
        """Close every kept connection (before files are removed, and when the instance ends)."""
        with self._lock:
            while self._engines:
                self._engines.popitem()[1].dispose()


def _engine(conn_string: str) -> Engine:
    engine = sqlalchemy.create_engine(
        conn_string,
        # One kept connection; more are opened (and closed after use) only when threads overlap.
        poolclass=QueuePool,
        pool_size=1,
        max_overflow=8,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    )
    sqlalchemy.event.listen(engine, "connect", _on_connect)
    return engine


def _on_connect(dbapi_connection, _record) -> None:
    # The files are in WAL mode (Dagster sets it when it creates them); in WAL mode NORMAL
    # syncs at checkpoints only, and a crashed process loses no committed transaction.
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


class KeptEventLogStorage(SqliteEventLogStorage):
    """The run-sharded event log, one kept engine per shard file."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines = Engines()
        self._asset_key_columns: set[str] = set()
        self._batch: dict[str, Connection] | None = None  # shard -> its open transaction, in store_event_batch
        self._batch_thread: int | None = None
        super().__init__(base_dir, inst_data)

    def store_event_batch(self, events) -> None:
        """A batch of events (a run's planned events, with DAGSTER_EVENT_BATCH_SIZE set) in one transaction per file.

        Each event is stored as `store_event` stores it; only the commits are shared: a run of 70 areas
        plans about two thousand materializations and checks, each a commit of its own otherwise.
        """
        with self._db_lock:
            self._batch, self._batch_thread = {}, threading.get_ident()
            try:
                for event in events:
                    self.store_event(event)
            except BaseException:
                for conn in self._batch.values():
                    conn.rollback()
                raise
            else:
                for conn in self._batch.values():
                    conn.commit()
            finally:
                for conn in self._batch.values():
                    conn.close()
                self._batch, self._batch_thread = None, None

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        """Dagster reads the asset-key table's columns from the schema for every asset event; a column,
        once there (Dagster's migrations only add them), is remembered."""
        if column_name in self._asset_key_columns:
            return True
        present = super()._has_asset_key_col_on_connection(conn, column_name)
        if present:
            self._asset_key_columns.add(column_name)
        return present

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        if self._batch is not None and self._batch_thread == threading.get_ident():
            # Inside store_event_batch (which holds the lock): the shard's open transaction.
            conn = self._batch.get(shard)
            if conn is None:
                conn = self._batch[shard] = self._engine(shard).connect()
                conn.begin()
            yield conn
            return
        with self._db_lock:
            with _transaction(self._engine(shard)) as conn:
                yield conn

    def _engine(self, shard: str):
        """The shard's kept engine, its database initialised on first use (the caller holds the lock)."""
        engine = self._engines.get(self.conn_string_for_shard(shard))
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        return engine

    def wipe(self) -> None:
        with self._db_lock:
            self._engines.dispose()  # no connection may keep a removed file open
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._engines.dispose()


class _KeptConnect:
    """Dagster's run or schedule storage, whose `connect` goes through one kept engine."""

    _conn_string: str

    def __init__(self, conn_string: str, inst_data: ConfigurableClassData | None = None):
        self._engines = Engines()
        super().__init__(conn_string, inst_data)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with _transaction(self._engines.get(self._conn_string)) as conn:
            yield conn

    def dispose(self) -> None:
        super().dispose()
        self._engines.dispose()


class KeptRunStorage(_KeptConnect, SqliteRunStorage):
    """The runs table (`history/runs.db`)."""


class KeptScheduleStorage(_KeptConnect, SqliteScheduleStorage):
    """Schedules, sensors and their ticks (`schedules/schedules.db`)."""


class SqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage under `base_dir` (the Dagster home), with kept connections.

    In dagster.yaml: `storage: {custom: {module: nhv_pipeline.orchestration.storage, class:
    SqliteStorage, config: {base_dir: <the home's absolute path>}}}` (the runner writes it; a
    path, not `{env: DAGSTER_HOME}`, so a process opening the folder without that variable works).
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # DagsterSqliteStorage.__init__ would open Dagster's own storages first: set ours instead.
        self.base_dir = base_dir
        self._run_storage = KeptRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = KeptEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = KeptScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        DagsterStorage.__init__(self)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value) -> SqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
