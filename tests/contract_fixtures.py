"""Small hand-made deliveries for the contract tests, written into tmp_path.

`baseline()` returns a valid data root as {relative path: rows}, rows being lists of
cells with the header first, so `rows[line - 1]` is the file's physical line `line`.
Tests change one cell with `set_cell`, then `write_root` writes the files.

Baseline (report year 2026 unless said otherwise):
- units.csv: sct_ssc unit `ks` (permit from 2023-01-01), skeletal_dysplasia unit `sus`
  (permit from 2025-09-01).
- sct_ssc D(2024): transplant T1 of P1, reinfused 2023-05-10 (the R2 cohort of 2026;
  horizon 2023-05-10 + 730 days = 2025-05-09).
- sct_ssc D(2025): transplant T2 of P2, reinfused 2024-03-01 (the R1 cohort of 2026;
  horizon 2024-03-01 + 100 days = 2024-06-09).
- sct_ssc D(2026): transplant T3 of P3; followup rows for T1 (line 2), T2 (line 3), T3 (line 4).
- skeletal_dysplasia D(2026): patients S1 (unclear, diagnosed 2025-10-15) and S2 (specific).
"""

from __future__ import annotations

from nhv_pipeline.conditions import get_condition, registered
import csv
import io
from pathlib import Path

SCT, SKD = "sct_ssc", "skeletal_dysplasia"
SCT_UNIT, SKD_UNIT = "ks", "sus"

Rows = list[list[str]]


def sct_path(year: int, table: str) -> str:
    return f"{year}/{SCT}/{SCT_UNIT}/{table}.csv"


def skd_path(table: str, year: int = 2026) -> str:
    return f"{year}/{SKD}/{SKD_UNIT}/{table}.csv"


PATIENTS_SCT = ["patient_id", "sex", "birth_date", "home_region"]
REFERRALS_SCT = ["referral_id", "patient_id", "referral_date", "assessment_date", "decision_date", "sct_offered", "care_plan"]
TRANSPLANTS = ["transplant_id", "patient_id", "decision_date", "mobilization_date", "reinfusion_date", "discharge_date"]
SURVEY_SCT = ["patient_id", "sent_date", "response_date"]
FOLLOWUP = [
    "transplant_id", "patient_id", "last_followup_date", "death_date", "death_transplant_related",
    "heart_failure_date", "lung_failure_date", "kidney_failure_date",
]  # fmt: skip


def baseline() -> dict[str, Rows]:
    files: dict[str, Rows] = {
        "units.csv": [
            ["condition_id", "unit_id", "unit_name", "permit_start", "permit_end"],
            [SCT, SCT_UNIT, "Karolinska universitetssjukhuset", "2023-01-01", ""],
            [SKD, SKD_UNIT, "Skånes universitetssjukhus", "2025-09-01", ""],
        ],
        # --- sct_ssc D(2024) ---
        sct_path(2024, "patients"): [PATIENTS_SCT, ["P1", "M", "1960-01-01", "12"]],
        sct_path(2024, "referrals"): [REFERRALS_SCT, ["R1", "P1", "2023-01-15", "2023-01-20", "2023-02-01", "1", "1"]],
        sct_path(2024, "transplants"): [TRANSPLANTS, ["T1", "P1", "2023-02-01", "2023-03-01", "2023-05-10", "2023-06-01"]],
        sct_path(2024, "survey"): [SURVEY_SCT, ["P1", "2023-07-01", "2023-07-15"]],
        sct_path(2024, "followup"): [FOLLOWUP, ["T1", "P1", "2023-12-01", "", "", "", "", ""]],
        # --- sct_ssc D(2025) ---
        sct_path(2025, "patients"): [PATIENTS_SCT, ["P1", "M", "1960-01-01", "12"], ["P2", "K", "1965-02-02", "14"]],
        sct_path(2025, "referrals"): [REFERRALS_SCT, ["R2", "P2", "2024-01-05", "2024-01-10", "2024-01-20", "1", "1"]],
        sct_path(2025, "transplants"): [TRANSPLANTS, ["T2", "P2", "2024-01-20", "2024-02-01", "2024-03-01", "2024-03-20"]],
        sct_path(2025, "survey"): [SURVEY_SCT, ["P2", "2024-04-01", ""]],
        sct_path(2025, "followup"): [
            FOLLOWUP,
            ["T1", "P1", "2024-12-01", "", "", "", "", ""],
            ["T2", "P2", "2024-12-01", "", "", "", "", ""],
        ],
        # --- sct_ssc D(2026) ---
        sct_path(2026, "patients"): [
            PATIENTS_SCT,
            ["P3", "K", "1970-05-05", "01"],
            ["P1", "M", "1960-01-01", "12"],
            ["P2", "K", "1965-02-02", "14"],
        ],
        sct_path(2026, "referrals"): [REFERRALS_SCT, ["R3", "P3", "2025-01-10", "2025-01-20", "2025-02-01", "1", "1"]],
        sct_path(2026, "transplants"): [TRANSPLANTS, ["T3", "P3", "2025-02-01", "2025-03-01", "2025-04-01", "2025-04-20"]],
        sct_path(2026, "survey"): [SURVEY_SCT, ["P3", "2025-05-01", "2025-05-10"]],
        sct_path(2026, "followup"): [
            FOLLOWUP,
            ["T1", "P1", "2025-12-01", "", "", "", "", ""],
            ["T2", "P2", "2025-11-01", "", "", "", "", ""],
            ["T3", "P3", "2025-12-15", "", "", "", "", ""],
        ],
        # --- skeletal_dysplasia D(2026) ---
        skd_path("patients"): [
            ["patient_id", "sex", "birth_date", "home_region", "diagnosis_at_referral", "specific_diagnosis_date"],
            ["S1", "K", "2015-06-01", "12", "unclear", "2025-10-15"],
            ["S2", "M", "1990-03-03", "99", "specific", ""],
        ],
        skd_path("referrals"): [
            ["referral_id", "patient_id", "referral_date", "approved"],
            ["Q1", "S1", "2025-09-05", "1"],
            ["Q2", "S2", "2025-09-10", "1"],
        ],
        skd_path("contacts"): [
            ["contact_id", "patient_id", "contact_date", "contact_type", "visit_mode", "referral_id", "care_plan"],
            ["C1", "S1", "2025-09-20", "new_visit", "physical", "Q1", "1"],
            ["C2", "S1", "2025-10-15", "mdk", "", "", "0"],
            ["C3", "S2", "2025-10-01", "new_visit", "digital", "Q2", "0"],
        ],
        skd_path("survey"): [
            ["patient_id", "respondent", "sent_date", "response_date", "answer"],
            ["S1", "relative", "2025-10-20", "2025-10-25", "Ofta"],
            ["S2", "patient", "2025-10-20", "", ""],
        ],
    }
    return files


def set_cell(files: dict[str, Rows], path: str, line: int, column: str, value: str) -> None:
    """Set the cell of `column` on physical line `line` (header = 1) of a baseline file."""
    rows = files[path]
    rows[line - 1][rows[0].index(column)] = value


def render(rows: Rows, delimiter: str = ",") -> str:
    """CSV text, quoting only fields that need it (as Excel does)."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue()


def write_root(root: Path, files: dict[str, Rows | str | bytes]) -> Path:
    """Write files under root: rows as comma CSV, str as UTF-8 text, bytes as they are."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_bytes(content.encode("utf-8"))
        else:
            path.write_bytes(render(content).encode("utf-8"))
    return root


def make_root(tmp_path: Path, files: dict[str, Rows | str | bytes] | None = None) -> Path:
    return write_root(tmp_path / "data_raw", baseline() if files is None else files)


def run(tmp_path: Path, files=None, year: int = 2026, condition: str = SCT, units=None):
    """Write the files, read the registry and validate D(year) of the condition."""
    from nhv_pipeline.contract import read_registry, validate_delivery

    root = make_root(tmp_path, files)
    return validate_delivery(root, year, get_condition(condition), read_registry(root, registered()).units, units, conditions=registered())


def keys(validation) -> list[tuple]:
    """(rule, file, line, column) of every failure of a validation or failure frame; line None where there is none."""
    import pandas as pd

    f = validation if isinstance(validation, pd.DataFrame) else validation.failures
    return [
        (rule, file, None if pd.isna(line) else int(line), column)
        for rule, file, line, column in zip(f["rule"], f["file"], f["line"], f["column"], strict=True)
    ]
