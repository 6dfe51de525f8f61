"""Where the pipeline reads and writes, and the DuckDB warehouse I/O.

The warehouse is one DuckDB file, `<warehouse>/nhv.duckdb`, with one schema per
layer (`registry`, `raw`, `staged`, `results`). An asset key
`[layer, condition_id, name]` is stored as the table `layer.condition_id_name`;
partitioned assets keep a `report_year` column and a re-run replaces exactly
the rows of its report year.

Why not `DuckDBPandasIOManager`: it names a table after the last key component
only (so `staged/<condition a>/patients` and `staged/<condition b>/patients`
would collide in one schema) and it silently skips writing an empty DataFrame,
which is a legitimate result here (a unit with no transplants in a year). This
manager is the same idea in a few lines, with those two behaviours fixed and a
wait for the single-writer lock that DuckDB puts on its file.
"""

import os
import re
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pandas as pd
from dagster import (
    ConfigurableIOManager,
    ConfigurableResource,
    InitResourceContext,
    InputContext,
    OutputContext,
    ResourceDependency,
    get_dagster_logger,
)
from pydantic import PrivateAttr

from nhv_pipeline.core.faults import fault_point

WAREHOUSE_FILE = "nhv.duckdb"
WAREHOUSE_POOL = "nhv_warehouse"
"""The Dagster concurrency pool of every asset (each writes to the warehouse); the instance limits it to one run."""
LOCK_WAIT_SECONDS = 600.0
"""How long a run waits for another run's write to the warehouse before giving up."""


# --- who may read the warehouse -----------------------------------------------------------------
# nhv.duckdb holds raw.* and staged.*: patient ids, birth dates, transplant and death dates, the
# rows of rejected deliveries included. Like PostgreSQL's data directory it is the owner's only:
# the file and DuckDB's .wal 0600, every folder holding patient-level data 0700. published/ is for
# everyone (PUBLICATION.md 5: 0755/0644), so the warehouse folder above it is 0711: others may pass
# through it to published/ but not list it. The Dagster home holds no patient value (run logs,
# check metadata and failures never repeat one: tests/faults/test_privacy.py), so it keeps the modes the
# operator's umask gives it.
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
WAREHOUSE_DIR_MODE = 0o711
PRIVATE_UMASK = 0o077
"""The umask while a process holds the warehouse: DuckDB creates its file and .wal with the process umask."""


class WarehousePermissionError(RuntimeError):
    """A warehouse path is readable by other accounts and this account cannot make it owner-only."""


def _private_paths(warehouse_dir: Path) -> Iterator[tuple[Path, int]]:
    """(path, the most it may allow) of everything in the warehouse that holds patient-level data.

    The database and every file beside it named after it (.wal, a copy kept by a rebuild), the
    validation reports and a rebuild's folder; never published/ or the run lock (a process id).
    """
    yield warehouse_dir, WAREHOUSE_DIR_MODE
    for entry in sorted(warehouse_dir.iterdir()):
        if entry.is_symlink():
            continue
        if entry.name.startswith(WAREHOUSE_FILE) and entry.is_file():
            yield entry, PRIVATE_FILE_MODE
        elif entry.name == "validation" or entry.name.startswith(".rebuild-"):
            if not entry.is_dir():
                continue
            yield entry, PRIVATE_DIR_MODE
            for folder, folders, files in os.walk(entry):
                for name in folders:
                    if not (Path(folder) / name).is_symlink():
                        yield Path(folder) / name, PRIVATE_DIR_MODE
                for name in files:
                    if not (Path(folder) / name).is_symlink():
                        yield Path(folder) / name, PRIVATE_FILE_MODE


def secure_warehouse(warehouse_dir: Path, warn: Callable[[str], None]) -> None:
    """Create the warehouse folder owner-only (0711), and tighten whatever of it other accounts may read.

    Each path found looser than `_private_paths` allows is tightened, with one warning naming it
    (the validation reports counted in one line). A path this account cannot change (another
    account owns it) stops the run with WarehousePermissionError, which says what to do.
    """
    warehouse_dir = Path(warehouse_dir)
    make_warehouse_dir(warehouse_dir)
    reports = 0
    for path, allowed in _private_paths(warehouse_dir):
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        if mode & 0o077 & ~allowed == 0:
            continue
        tightened = (mode & 0o700) | (allowed & 0o077)
        try:
            os.chmod(path, tightened)
        except OSError as error:
            raise WarehousePermissionError(
                f"{path} holds patient-level data and other accounts may read it (mode {mode:04o}), and this account "
                f"cannot make it owner-only ({error.strerror}). As its owner or root, run `chmod {tightened:o} {path}`"
                f"{' and `chmod -R go-rwx ' + str(path) + '`' if path.is_dir() and allowed != WAREHOUSE_DIR_MODE else ''}, "
                "or give the warehouse to the account that runs the pipeline, then re-run."
            ) from error
        if "validation" in path.relative_to(warehouse_dir).parts[:1]:
            reports += 1
        else:
            warn(f"{path} was readable by other accounts (mode {mode:04o}) and holds patient-level data; "
                 f"made owner-only ({tightened:04o}).")
    if reports:
        warn(f"{reports} validation report(s) or folder(s) under {warehouse_dir / 'validation'} were readable by other "
             f"accounts; made owner-only (files {PRIVATE_FILE_MODE:04o}, folders {PRIVATE_DIR_MODE:04o}).")


def make_warehouse_dir(warehouse_dir: Path) -> None:
    """The warehouse folder, created 0711 if missing (its parents as the umask gives them)."""
    if not warehouse_dir.is_dir():
        warehouse_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(warehouse_dir, WAREHOUSE_DIR_MODE)


@contextmanager
def owner_only_files() -> Iterator[None]:
    """The process umask at least PRIVATE_UMASK inside the block: files DuckDB creates (.wal) are the owner's only."""
    previous = os.umask(PRIVATE_UMASK)
    os.umask(previous | PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def default_data_raw() -> str:
    return str(Path(os.environ.get("NHV_DATA_RAW", "data_raw")).resolve())


def default_warehouse_dir() -> str:
    return str(Path(os.environ.get("NHV_WAREHOUSE_DIR", "warehouse")).resolve())


def ensure_warehouse_pool(instance) -> None:
    """Give the pool `nhv_warehouse` its limit in the instance's storage now, if it has none yet.

    Dagster applies `concurrency: pools: default_limit` to a pool only after the run queue has
    first seen it: on that first pass it would start every queued run of the pool at once (seen
    with three report years submitted together). Setting it up front closes that gap; a limit an
    operator set (`dagster instance concurrency set nhv_warehouse N`) is left as it is.
    """
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits and instance.global_op_concurrency_default_limit:
        storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)


class WarehouseLockTimeout(RuntimeError):
    """Another process held the warehouse for longer than we are willing to wait."""


@contextmanager
def connect(
    database: Path, *, read_only: bool = False, wait_seconds: float = LOCK_WAIT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection to the warehouse file, for code outside a run (CLI, sensor, recovery).

    Inside a run, use the run's `Warehouse` resource instead: it holds one connection for the
    whole run.
    """
    with owner_only_files():
        con = _open(database, read_only=read_only, wait_seconds=wait_seconds)
        try:
            yield con
        finally:
            con.close()


def _open(database: Path, *, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting while another process holds DuckDB's file lock.

    DuckDB allows one writing process per file. Two runs at once (the March
    schedule and a manual backfill, say) therefore take turns: a run holds the
    file while it executes (`Warehouse`), and a run that finds it locked waits
    and retries instead of crashing. After `wait_seconds` it stops with a
    message that says what to do.
    """
    make_warehouse_dir(database.parent)
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    announced = False
    while True:
        try:
            return duckdb.connect(str(database), read_only=read_only)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLockTimeout(
                    f"The warehouse {database} has been locked by another process for more than "
                    f"{wait_seconds:.0f} s. Another pipeline run (or a tool holding the file open, "
                    "such as a DuckDB shell) is writing to it; wait for it to finish or close it, "
                    "then re-run."
                ) from error
            if not announced:
                holder = re.search(r"PID (\d+)", str(error))
                get_dagster_logger().info(
                    "Warehouse is busy (held by process %s); waiting for it to be released.",
                    holder.group(1) if holder else "unknown",
                )
                announced = True
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


@contextmanager
def exclusive_lock(
    lock_file: Path, what: str, wait_seconds: float = LOCK_WAIT_SECONDS, announce=None
) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (the `filelock` package); wait, and say so, while another process holds it.

    The holder writes its process id into the file, so a waiting run can name it. The
    kernel drops the lock when its process dies, even under `kill -9`: a lock file left
    behind never blocks the next run, and the stale id in it is overwritten.
    """
    from filelock import FileLock, Timeout

    def note_holder(fd: int) -> None:
        with suppress(OSError):  # only for the waiting message: a full disk must not stop the lock
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_file), on_acquired=note_holder, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = _lock_holder(lock_file)
        (announce or get_dagster_logger().info)(f"{what} is in use by process {holder}; waiting for it to finish.")
        try:
            lock.acquire(timeout=wait_seconds)
        except Timeout:
            raise WarehouseLockTimeout(
                f"{what} has been in use by process {holder} for more than {wait_seconds:.0f} s; "
                "wait for that run to finish (or stop it), then re-run."
            ) from None
    try:
        yield
    finally:
        with suppress(OSError):
            os.truncate(lock_file, 0)  # still held: no other process writes it now
        lock.release()


def _lock_holder(lock_file: Path) -> str:
    try:
        return lock_file.read_text(encoding="ascii", errors="replace").strip() or "unknown"
    except OSError:
        return "unknown"


def table_name(key_path: Sequence[str]) -> tuple[str, str]:
    """`["staged", "<condition>", "patients"]` -> `("staged", "<condition>_patients")`."""
    schema, *rest = key_path
    return schema, "_".join(rest) if rest else schema


def quoted(schema: str, table: str) -> str:
    return f'"{schema}"."{table}"'


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether the warehouse has the table (a view does not count).

    A catalog lookup by name, not a query of `duckdb_tables()`: that lists every table of
    the warehouse on each call, and with 70 conditions (a thousand tables) a run made
    thousands of such calls. A failed lookup leaves an open transaction usable.
    """
    return stored_columns(con, schema, table) is not None


def stored_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str] | None:
    """The table's column names in their stored order; None when the warehouse has no such table (a view does not count).

    The same catalog lookup as `table_exists`, which also gives the columns: no `describe` (a statement of its
    own, and one that a missing table would turn into an aborted transaction).
    """
    try:
        relation = con.table(quoted(schema, table))
    except duckdb.CatalogException:
        return None
    return list(relation.columns) if relation.type == "TABLE_RELATION" else None


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    frame: pd.DataFrame,
    report_year: int | None,
) -> None:
    """Replace the report year's rows (or the whole table when `report_year` is None).

    Works for empty frames too: the table is created with the frame's columns.
    A frame whose columns differ from the stored table (a rule that gained a
    column) rebuilds the table, keeping the other report years' rows.
    """
    con.register("incoming", _concrete_types(frame))
    try:
        _replace_with_incoming(con, schema, table, list(frame.columns), report_year)
    finally:
        con.unregister("incoming")


def replace_rows_from_query(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, query: str, report_year: int | None
) -> None:
    """`replace_rows` with the rows of a DuckDB `select` instead of a frame: they stay inside DuckDB.

    `query` must hold no parameters (it becomes a temporary view).
    """
    con.execute(f"create or replace temporary view incoming as {query}")
    try:
        columns = [row[0] for row in con.execute("describe incoming").fetchall()]
        _replace_with_incoming(con, schema, table, columns, report_year)
    finally:
        con.execute("drop view if exists incoming")


_IN_ONE_TRANSACTION: set[int] = set()
"""The connections (by id) inside `one_transaction`: their writes commit when it ends, not one by one."""


@contextmanager
def one_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Every write on `con` inside the block is one transaction, committed at its end, rolled back on an error.

    A commit waits for the disk (DuckDB syncs its write-ahead log), so a step that writes many
    slices (a condition's staged tables, say) commits them once; a run killed inside the block
    leaves every one of them as it was. Nested blocks on one connection join the outer one.
    """
    if id(con) in _IN_ONE_TRANSACTION:
        yield con
        return
    con.execute("begin transaction")
    _IN_ONE_TRANSACTION.add(id(con))
    try:
        yield con
    except BaseException:
        with suppress(duckdb.Error):  # a failed rollback must not hide why the write failed
            con.execute("rollback")
        raise
    else:
        con.execute("commit")
    finally:
        _IN_ONE_TRANSACTION.discard(id(con))


def _replace_with_incoming(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: list[str], report_year: int | None
) -> None:
    """Write the relation `incoming` (a registered frame or a view) as the report year's rows."""
    target = quoted(schema, table)
    # One transaction per write: a run killed half-way leaves the table as it was (DuckDB rolls
    # an uncommitted transaction back when it next opens the file). Inside another `one_transaction`
    # the write is part of that one.
    with one_transaction(con):
        stored = stored_columns(con, schema, table)
        if stored is None:  # a table's schema exists; a new table may need its schema created
            con.execute(f'create schema if not exists "{schema}"')
        if report_year is None:
            con.execute(f"create or replace table {target} as select * from incoming")
        elif stored is None:
            con.execute(f"create table {target} as select * from incoming")
        elif stored == columns:
            con.execute(f"delete from {target} where report_year = ?", [report_year])
            con.execute(f"insert into {target} by name select * from incoming")
        else:
            con.execute(
                f"create or replace table {target} as "
                f"select * from incoming union all by name "
                f"select * from {target} where report_year <> ?",
                [report_year],
            )
        fault_point(f"warehouse_write:{schema}")


def table_digest(con: duckdb.DuckDBPyConnection, schema: str, table: str, report_year: int) -> str:
    """A short content hash of a report year's stored rows (column names and types, values), computed in DuckDB.

    A data version: it changes when a value, a row or a column changes. The
    rows are hashed one by one and summed, so the order they are stored in does not matter.
    """
    import hashlib

    target = quoted(schema, table)
    described = con.execute(f"describe {target}").fetchall()
    values = ", ".join(f'"{name}"' for name, *_ in described)
    count, total, mixed = con.execute(
        f"select count(*), coalesce(sum(hash({values})::hugeint), 0), coalesce(bit_xor(hash({values})), 0) "
        f"from {target} where report_year = ?",
        [report_year],
    ).fetchall()[0]  # fetched to the end: DuckDB refuses a `register` while a result is unfinished
    digest = hashlib.sha256("\x1f".join(f"{name}:{type_}" for name, type_, *_ in described).encode())
    digest.update(f"{count}\x1f{total}\x1f{mixed}".encode())
    return digest.hexdigest()[:32]


def _concrete_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns with no value at all would reach DuckDB untyped (NULL); store them as text."""
    empty_text = [column for column, dtype in frame.dtypes.items() if dtype == object and _no_value(frame[column])]
    return frame.astype({column: "string" for column in empty_text}) if empty_text else frame


def _no_value(values: pd.Series) -> bool:
    """Every cell missing; a column whose first cell has a value is not looked at further."""
    return len(values) == 0 or (pd.isna(values.iat[0]) and bool(values.isna().all()))


DELIVERY_ORDER = {"report_year", "unit_id", "source_file", "source_line"}
"""Columns of a delivered row's place: the raw and staged tables carry them."""


def read_rows(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, report_years: Sequence[int] | None
) -> pd.DataFrame:
    """The stored rows of the given report years (all rows when None); empty if never written."""
    stored = stored_columns(con, schema, table)
    if stored is None:
        return pd.DataFrame()
    target = quoted(schema, table)
    # A stable order keeps re-runs identical: a delivery's own order where the table has one.
    columns = set(stored)
    order = " order by report_year, unit_id, source_file, source_line" if DELIVERY_ORDER <= columns else ""
    if report_years is None:
        return _frame(con, f"select * from {target}{order}", [])
    return _frame(con, f"select * from {target} where {_report_year_filter(report_years)}{order}", [])


def _report_year_filter(report_years: Sequence[int]) -> str:
    """The condition on `report_year` that selects these years (written as integers into the query)."""
    years = sorted({int(year) for year in report_years})
    if years == list(range(years[0], years[-1] + 1)):
        return f"report_year between {years[0]} and {years[-1]}"
    return f"report_year in ({', '.join(str(year) for year in years)})"


TABLES_PER_QUERY = 200
"""How many tables `read_rows_of_tables` reads in one `union all` (a bound on the query's size, not its speed)."""


def read_rows_of_tables(
    con: duckdb.DuckDBPyConnection, tables: Sequence[tuple[str, str]], report_years: Sequence[int]
) -> pd.DataFrame:
    """The frame `pd.concat` of `read_rows(con, schema, table, report_years)` over `tables` gives (frames without
    rows left out, a fresh index; an empty frame when none has rows), in a few queries instead of two or three per table.

    One catalog query finds which tables exist and their stored columns and types. Tables of one layout that
    follow one another are read together (`union all`, in the given order and each table's stored order),
    so every column keeps the type a table's own read gives it and the concatenation makes the same frame.
    Tables with a delivery's place (`DELIVERY_ORDER`) are read one by one, in read_rows' order.
    """
    wanted = {(schema.lower(), table.lower()) for schema, table in tables}
    layouts: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, type_ in con.execute(
        "select c.schema_name, c.table_name, c.column_name, c.data_type from duckdb_columns() c "
        "join duckdb_tables() t on t.database_name = c.database_name and t.schema_name = c.schema_name "
        "and t.table_name = c.table_name where c.database_name = current_database() "
        "order by c.schema_name, c.table_name, c.column_index"
    ).fetchall():
        if (schema.lower(), table.lower()) in wanted:
            layouts.setdefault((schema.lower(), table.lower()), []).append((column, type_))
    if not report_years:
        return pd.DataFrame()
    where = _report_year_filter(report_years)
    groups: list[tuple[list[tuple[str, str]], list[tuple[str, str]]]] = []  # (layout, tables) runs
    for schema, table in tables:
        layout = layouts.get((schema.lower(), table.lower()))
        if layout is None:
            continue  # never written: no rows
        if groups and groups[-1][0] == layout and len(groups[-1][1]) < TABLES_PER_QUERY:
            groups[-1][1].append((schema, table))
        else:
            groups.append((layout, [(schema, table)]))
    frames = []
    for layout, members in groups:
        if DELIVERY_ORDER <= {column for column, _ in layout}:
            frames += [read_rows(con, schema, table, report_years) for schema, table in members]
            continue
        union = " union all ".join(
            f"select *, {number} as __nhv_table, rowid as __nhv_row from {quoted(schema, table)} where {where}"
            for number, (schema, table) in enumerate(members)
        )
        frames.append(_frame(con, f"select * exclude (__nhv_table, __nhv_row) from ({union}) order by __nhv_table, __nhv_row", []))
    frames = [frame for frame in frames if len(frame)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _frame(con: duckdb.DuckDBPyConnection, query: str, parameters: list) -> pd.DataFrame:
    """The frame `.df()` gives, with one Python string per distinct text value of a column.

    `.df()` makes a new string object for every text cell; at 1000x volume the staged
    tables an indicator step reads are then most of its memory. Text columns are
    converted from arrow instead (which shares one object per distinct value), every
    other column by DuckDB as before, so types and values are those of `.df()`.
    """
    import pyarrow as pa  # loaded by pandas and duckdb anyway; here so importing stays lean

    table = con.sql(query, params=parameters).to_arrow_table()
    text = {
        field.name
        for field in table.schema
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type) or pa.types.is_string_view(field.type)
    }
    others = [name for name in table.column_names if name not in text]
    frame = (
        con.from_arrow(table.select(others)).df() if others else pd.DataFrame(index=pd.RangeIndex(table.num_rows))
    )
    columns = {name: table.column(name).to_pandas() if name in text else frame[name] for name in table.column_names}
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows), copy=False)


class PipelinePaths(ConfigurableResource):
    """The data root (deliveries, read-only) and the warehouse folder (all outputs)."""

    data_raw: str
    warehouse_dir: str

    @property
    def data_root(self) -> Path:
        return Path(self.data_raw)

    @property
    def warehouse(self) -> Path:
        return Path(self.warehouse_dir)

    @property
    def database(self) -> Path:
        return self.warehouse / WAREHOUSE_FILE

    @property
    def validation_dir(self) -> Path:
        return self.warehouse / "validation"

    @property
    def published_dir(self) -> Path:
        return self.warehouse / "published"


class Warehouse(ConfigurableResource):
    """The DuckDB warehouse file `<warehouse_dir>/nhv.duckdb`.

    In a run, Dagster opens one connection when the run starts (`setup_for_execution`) and
    closes it when the run ends: opening the file costs tens of milliseconds and a run makes
    hundreds of reads and writes, and while the run holds the file another process waits for
    it (see `_open`). Assets and the IO manager share that connection through `connection()`.
    Outside a run (the CLI planning its runs, say) `connection()` opens a short-lived one.
    Bind it with `Warehouse.configure_at_launch(warehouse_dir=...)` so that the IO manager's
    nested reference and the assets' parameter resolve to the same resource, set up once.
    """

    warehouse_dir: str
    lock_wait_seconds: float = LOCK_WAIT_SECONDS

    _connection: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _umask: int | None = PrivateAttr(default=None)

    @property
    def database(self) -> Path:
        return Path(self.warehouse_dir) / WAREHOUSE_FILE

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Open the run's connection, the warehouse owner-only first and the umask PRIVATE_UMASK until teardown."""
        secure_warehouse(Path(self.warehouse_dir), context.log.warning if context.log else get_dagster_logger().warning)
        previous = os.umask(PRIVATE_UMASK)
        os.umask(previous | PRIVATE_UMASK)
        self._umask = previous
        try:
            self._connection = _open(self.database, read_only=False, wait_seconds=self.lock_wait_seconds)
        except BaseException:
            self._restore_umask()
            raise

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._restore_umask()

    def _restore_umask(self) -> None:
        if self._umask is not None:
            os.umask(self._umask)
            self._umask = None

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The run's connection, or (outside a run) a short-lived one."""
        if self._connection is not None:
            yield self._connection
            return
        with connect(self.database, wait_seconds=self.lock_wait_seconds) as con:
            yield con

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The warehouse's writes inside the block as one transaction (`one_transaction`).

        Outside a run, one short-lived connection serves the whole block (every `connection()` in it).
        """
        with self.connection() as con:
            held = self._connection is None
            if held:
                self._connection = con
            try:
                with one_transaction(con):
                    yield con
            finally:
                if held:
                    self._connection = None

    def store(self, key_path: Sequence[str], frame: pd.DataFrame, report_year: int | None) -> dict:
        """Write an asset's rows as its report year's slice (all of it when None); the metadata Dagster shows for it.

        The IO manager stores outputs through it, and a step that writes its own tables (raw, indicators) too.
        """
        schema, table = table_name(key_path)
        if report_year is not None and "report_year" not in frame.columns:
            raise ValueError(f"{schema}.{table}: a partitioned table needs a report_year column")
        with self.connection() as con:
            replace_rows(con, schema, table, frame, report_year)
        return {"warehouse_table": f"{schema}.{table}", "row_count": len(frame)}


class WarehouseIOManager(ConfigurableIOManager):
    """Stores each asset as a DuckDB table, one report year's slice at a time, through the run's `Warehouse`."""

    warehouse: ResourceDependency[Warehouse]

    def handle_output(self, context: OutputContext, obj: pd.DataFrame) -> None:
        if obj is None:
            return
        report_year = int(context.asset_partition_key) if context.has_asset_partitions else None
        context.add_output_metadata(self.warehouse.store(context.asset_key.path, obj, report_year))

    def load_input(self, context: InputContext) -> pd.DataFrame:
        schema, table = table_name(context.asset_key.path)
        report_years = (
            [int(key) for key in context.asset_partition_keys] if context.has_asset_partitions else None
        )
        if report_years == []:
            return pd.DataFrame()
        with self.warehouse.connection() as con:
            return read_rows(con, schema, table, report_years)


def warehouse_resources(warehouse_dir: str) -> dict:
    """The `warehouse` resource and the IO manager that writes through it (one connection per run)."""
    warehouse = Warehouse.configure_at_launch(warehouse_dir=warehouse_dir)
    return {"warehouse": warehouse, "io_manager": WarehouseIOManager(warehouse=warehouse)}
