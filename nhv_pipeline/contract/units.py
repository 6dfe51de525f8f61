"""units.csv: the registry of NHV units and their permits (DATA_CONTRACT.md 1)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from . import rules
from .values import model_failures
from .reader import (
    REDACTED, is_inside_root, is_regular_file, max_file_bytes, not_a_file_failure, parse_contract_csv, read_bytes_limited,
    too_large_failure,
)  # fmt: skip
from nhv_pipeline.core.condition import Condition

from .schema import model_columns, parse_dates, registry_units

REGISTRY_FILE = "units.csv"
UNIT_ID_PATTERN = r"[a-z0-9_]{2,40}"

UNIT_COLUMNS = ["condition_id", "unit_id", "unit_name", "permit_start", "permit_end"]

MAX_UNITS_ENV = "NHV_MAX_UNITS_PER_CONDITION"
DEFAULT_MAX_UNITS = 500
"""A condition has a handful of units (a national highly specialised permit goes to one to five);
500 leaves room for any registry and stops a units.csv of a million rows before it is read."""


def max_units_per_condition() -> int:
    """NHV_MAX_UNITS_PER_CONDITION (default 500); anything but a positive whole number raises ValueError."""
    raw = os.environ.get(MAX_UNITS_ENV, "").strip()
    if raw == "":
        return DEFAULT_MAX_UNITS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{MAX_UNITS_ENV} must be a positive whole number of units")
    return int(raw)


@dataclass
class RegistryResult:
    """Valid registry rows, typed; and the failures of units.csv (unit_id empty, file units.csv)."""

    units: pd.DataFrame
    failures: pd.DataFrame


def _typed_units(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "condition_id": frame["condition_id"].astype(object),
            "unit_id": frame["unit_id"].astype(object),
            "unit_name": frame["unit_name"].astype(object),
            "permit_start": parse_dates(frame["permit_start"]).astype("datetime64[ns]"),
            "permit_end": parse_dates(frame["permit_end"]).astype("datetime64[ns]"),
        }
    ).reset_index(drop=True)


def _no_units() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in UNIT_COLUMNS})


def read_registry(data_root: Path, conditions: Iterable[Condition]) -> RegistryResult:
    """Read and validate data_root/units.csv; rows with a failure are left out of `units`.

    `conditions` are the conditions a row may name (the registered ones)."""
    data_root = Path(data_root)
    condition_ids = tuple(condition.condition_id for condition in conditions)
    path = data_root / REGISTRY_FILE
    empty_units = _typed_units(_no_units())

    def only(rule: str, message: str) -> RegistryResult:
        return RegistryResult(empty_units, rules.normalise_failures(pd.DataFrame([rules.failure("", REGISTRY_FILE, None, "", rule, message)])))

    if not path.exists() and not path.is_symlink():
        return only(rules.REGISTRY, "Registret units.csv saknas i dataroten; lägg till det med varje enhet och dess tillstånd.")
    if not is_inside_root(path, data_root):
        return only(rules.PATH_OUTSIDE_ROOT, "units.csv är en symbolisk länk eller ligger utanför dataroten och lästes därför inte; lägg själva filen där.")
    if not is_regular_file(path):
        return RegistryResult(empty_units, rules.normalise_failures(pd.DataFrame([not_a_file_failure(REGISTRY_FILE)])))

    limit = max_file_bytes()
    data = read_bytes_limited(path, limit)  # read-only, section 1; the size is checked first
    if data is None:
        return RegistryResult(empty_units, rules.normalise_failures(pd.DataFrame([too_large_failure(REGISTRY_FILE, limit)])))
    # Checked before the file is parsed: its lines bound its rows (a quoted line break only adds lines).
    limit_units = max_units_per_condition()
    rows = data.count(b"\n") + (0 if data.endswith(b"\n") else 1) - 1
    if rows > limit_units * len(condition_ids):
        return only(rules.REGISTRY,
                    f"units.csv har {rows} rader, fler än {limit_units} enheter per tillståndsområde "
                    f"({MAX_UNITS_ENV}) för {len(condition_ids)} tillståndsområden, och lästes inte; "
                    "kontrollera att rätt fil sparades som units.csv.")
    units, failures = _registry_of(data, condition_ids)
    counts = units["condition_id"].value_counts()
    over = sorted(counts[counts > limit_units].index)
    if over:
        return only(rules.REGISTRY,
                    f"units.csv har fler än {limit_units} enheter för {', '.join(over)} ({MAX_UNITS_ENV}); "
                    "kontrollera att rätt fil sparades som units.csv.")
    return RegistryResult(units.copy(), failures.copy())


@lru_cache(maxsize=8)
def _registry_of(data: bytes, condition_ids: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Content-keyed: the registry is re-read by every validation of every year and condition."""
    model = registry_units(condition_ids)
    # unit_id is an id: a bare 10- or 12-digit number there is an identity number (section 3), and
    # any cell (unit_name too) holding one anywhere is failed and withheld by the reader.
    read = parse_contract_csv(data, REGISTRY_FILE, model_columns(model), ["unit_id"])
    if read.frame is None:
        return _typed_units(_no_units()), rules.normalise_failures(pd.DataFrame(read.failures))

    frame = read.frame
    # The registry's own unit_id doubles as the failure rows' unit_id until it is blanked below:
    # a registry problem belongs to no unit's delivery report.
    lineage = frame.assign(source_file=REGISTRY_FILE)
    parts = [pd.DataFrame(read.failures, columns=rules.ROW_FAILURE_COLUMNS), model_failures(model, lineage)]
    bad_pattern = frame["unit_id"].notna() & frame["unit_id"].ne(REDACTED) & ~frame["unit_id"].astype("string").str.fullmatch(UNIT_ID_PATTERN).fillna(False).astype(bool)
    parts.append(
        rules.failures_at(lineage[bad_pattern], "unit_id", rules.REGISTRY,
                          "unit_id ska vara 2 till 40 tecken av a-z, 0-9 och _ (det är namnet på enhetens leveransmapp); rätta det.")
    )
    repeated = frame.duplicated(["condition_id", "unit_id"], keep="first") & frame["unit_id"].notna()
    parts.append(
        rules.failures_at(lineage[repeated], "unit_id", rules.UNIQUE,
                          "Detta unit_id finns redan för samma tillståndsområde på en tidigare rad; varje enhet anges en gång per tillståndsområde.")
    )
    failures = rules.concat(parts)
    failures["unit_id"] = ""
    bad_lines = set(failures["line"].dropna().astype(int))
    units = _typed_units(frame[~frame["source_line"].isin(bad_lines)])
    return units, rules.normalise_failures(failures)

