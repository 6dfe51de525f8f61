"""The synthetic sample delivery follows DATA_CONTRACT.md and exercises INDICATORS.md.

The checks are written directly with pandas over the generated files, independent of
the contract validator, so a generator bug and a validator bug cannot hide each other.
"""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import pandas as pd
import pytest

from nhv_pipeline.contract import read_registry, validate_delivery
from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.conditions.skeletal_dysplasia.contract import ANSWER_SCALES as SURVEY_ANSWERS
from nhv_pipeline.contract.schema import model_columns
from nhv_pipeline.core.labels import REGION_CODES
from nhv_pipeline.core.sample_data import generate, sample_units

SAMPLE_UNITS = sample_units(registered())
TABLE_COLUMNS = {
    condition.condition_id: {table: tuple(model_columns(model)) for table, model in condition.tables.items()}
    for condition in registered()
}

#: The areas this file's hand-written expectations are about (another registered area's sample is checked generically).
SHIPPED = ("sct_ssc", "skeletal_dysplasia")

SCT_UNITS_BY_YEAR = {
    2024: {"akademiska", "karolinska"},
    2025: {"akademiska", "karolinska"},
    2026: {"akademiska", "karolinska", "sus"},
}
SKD_UNITS_BY_YEAR = {2026: {"karolinska_sd", "sahlgrenska_sd"}}


def _read(path: Path) -> pd.DataFrame:
    """Read one extract as text, detecting the delimiter per file (§2)."""
    header = path.read_text(encoding="utf-8").split("\n", 1)[0]
    frame = pd.read_csv(path, sep=";" if ";" in header else ",", dtype=str, keep_default_na=False)
    for column in frame.columns:
        if column.endswith("_date"):
            frame[column] = pd.to_datetime(frame[column].replace("", None), format="%Y-%m-%d")
    return frame


def _load(root: Path) -> dict[tuple[int, str, str, str], pd.DataFrame]:
    return {
        (int(p.parts[-4]), p.parts[-3], p.parts[-2], p.stem): _read(p)
        for p in sorted(root.glob("*/*/*/*.csv"))
    }


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data_raw")
    generate(out, registered())
    return out


@pytest.fixture(scope="module")
def tables(root) -> dict[tuple[int, str, str, str], pd.DataFrame]:
    return _load(root)


def _deliveries(tables, condition_id):
    keys = sorted({(r, u) for (r, c, u, _t) in tables if c == condition_id})
    return [(r, u, {t: tables[(r, condition_id, u, t)] for t in TABLE_COLUMNS[condition_id]}) for r, u in keys]


def _all_rows(tables, condition_id, table):
    return pd.concat(
        [d[table].assign(report_year=r, unit_id=u) for r, u, d in _deliveries(tables, condition_id)],
        ignore_index=True,
    )


# --- determinism and layout -------------------------------------------------------


def test_same_seed_and_scale_give_byte_identical_files(tmp_path):
    first = generate(tmp_path / "a", registered(), seed=7, scale=0.5)
    second = generate(tmp_path / "b", registered(), seed=7, scale=0.5)
    assert first.files == second.files
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b",
                                               [str(f) for f in first.files], shallow=False)
    assert mismatch == [] and errors == []
    assert len(match) == first.files_written


def test_summary_counts_the_files_and_rows_it_wrote(tmp_path):
    summary = generate(tmp_path, registered(), seed=3, scale=0.5)
    on_disk = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert list(summary.files) == on_disk
    key = ("sct_ssc", 2026, "sus", "referrals")
    lines = (tmp_path / "2026/sct_ssc/sus/referrals.csv").read_text(encoding="utf-8").count("\n")
    assert summary.unit_rows[key] == lines - 1
    assert summary.rows[("sct_ssc", 2024, "referrals")] == sum(
        n for (c, r, _u, t), n in summary.unit_rows.items() if (c, r, t) == ("sct_ssc", 2024, "referrals"))
    assert str(summary).startswith(f"{summary.files_written} files;")


def test_other_seed_gives_other_data(tmp_path):
    generate(tmp_path / "a", registered(), seed=1)
    generate(tmp_path / "b", registered(), seed=2)
    relative = "2026/skeletal_dysplasia/karolinska_sd/contacts.csv"
    assert (tmp_path / "a" / relative).read_bytes() != (tmp_path / "b" / relative).read_bytes()


def test_layout_has_every_table_of_every_shipped_unit_with_a_permit_in_the_measurement_year(root):
    found = {
        p.relative_to(root).as_posix() for p in root.rglob("*")
        if p.is_file() and (p.parent == root or p.relative_to(root).parts[1] in SHIPPED)
    }
    expected = {"units.csv", "README.md"}
    for condition_id, by_year in (("sct_ssc", SCT_UNITS_BY_YEAR), ("skeletal_dysplasia", SKD_UNITS_BY_YEAR)):
        for report_year, units in by_year.items():
            for unit_id in units:
                expected |= {f"{report_year}/{condition_id}/{unit_id}/{t}.csv" for t in TABLE_COLUMNS[condition_id]}
    assert found == expected


def test_units_csv_registers_sus_from_2025_and_skeletal_units_from_condition_start(root):
    units = pd.read_csv(root / "units.csv", dtype=str, keep_default_na=False)
    units = units[units["condition_id"].isin(SHIPPED)]
    assert list(units.columns) == ["condition_id", "unit_id", "unit_name", "permit_start", "permit_end"]
    starts = dict(zip(units["unit_id"], units["permit_start"]))
    assert starts == {"akademiska": "2023-01-01", "karolinska": "2023-01-01", "sus": "2025-01-01",
                      "karolinska_sd": "2025-09-01", "sahlgrenska_sd": "2025-09-01"}
    assert units["unit_id"].str.fullmatch(r"[a-z0-9_]{2,40}").all()


@pytest.mark.conformance
def test_headers_are_the_contract_columns_in_order(tables):
    for (_r, condition_id, _u, table), frame in tables.items():
        assert tuple(frame.columns) == TABLE_COLUMNS[condition_id][table]


def test_files_are_utf8_with_newline_endings_and_one_unit_per_condition_uses_semicolons(root):
    semicolon = {u.unit_id for u in SAMPLE_UNITS if u.delimiter == ";"}
    assert {u.unit_id for u in SAMPLE_UNITS if u.delimiter == ";" and u.condition_id in SHIPPED} == {"karolinska", "sahlgrenska_sd"}
    for path in root.glob("*/*/*/*.csv"):
        raw = path.read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n")
        header = raw.decode("utf-8").split("\n", 1)[0]
        assert (";" in header) == (path.parent.name in semicolon)
    assert "Skånes" in (root / "units.csv").read_text(encoding="utf-8")


def test_readme_says_the_data_is_synthetic_and_how_it_was_made(root):
    text = (root / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in text.lower()
    assert "nhv-pipeline sample-data --out data_raw --seed 20260331" in text


# --- volumes ----------------------------------------------------------------------


def test_volumes_at_scale_1_are_in_the_stated_ranges(tables):
    for report_year, unit_id, d in _deliveries(tables, "sct_ssc"):
        assert 20 <= len(d["referrals"]) <= 40, (report_year, unit_id)
        reinfused = (d["transplants"]["reinfusion_date"].dt.year == report_year - 1).sum()
        assert 5 <= reinfused <= 15, (report_year, unit_id)
    for _r, _u, d in _deliveries(tables, "skeletal_dysplasia"):
        assert 100 <= len(d["patients"]) <= 200


def test_scale_10_gives_about_ten_times_the_rows(tmp_path):
    one = generate(tmp_path / "one", registered(), seed=11, scale=1)
    ten = generate(tmp_path / "ten", registered(), seed=11, scale=10)
    for condition_id, table in [("sct_ssc", "referrals"), ("sct_ssc", "transplants"),
                                ("skeletal_dysplasia", "patients"), ("skeletal_dysplasia", "contacts")]:
        small = sum(n for (c, _r, t), n in one.rows.items() if (c, t) == (condition_id, table))
        large = sum(n for (c, _r, t), n in ten.rows.items() if (c, t) == (condition_id, table))
        assert 6 <= large / small <= 15, (condition_id, table, small, large)


# --- identifiers and codes (§3) -----------------------------------------------------

PERSONNUMMER_LIKE = re.compile(r"(\d{6}|\d{8})[-+]?\d{4}")


def test_ids_are_unique_in_their_file(tables):
    id_column = {"patients": "patient_id", "referrals": "referral_id", "transplants": "transplant_id",
                 "followup": "transplant_id", "contacts": "contact_id"}
    for key, frame in tables.items():
        column = id_column.get(key[3]) if key[1] in SHIPPED else None
        if column:
            assert frame[column].is_unique, key


def test_no_patient_id_looks_like_a_personal_identity_number(tables):
    for key, frame in tables.items():
        ids = frame["patient_id"]
        if key[1] in SHIPPED:
            assert ids.str.fullmatch(r"P\d{6,}").all(), key
        assert not ids.str.fullmatch(PERSONNUMMER_LIKE).any(), key


def test_patients_csv_holds_exactly_the_patients_of_the_delivery(tables):
    for condition_id in ("sct_ssc", "skeletal_dysplasia"):
        for key, _u, d in _deliveries(tables, condition_id):
            others = pd.concat([f["patient_id"] for t, f in d.items() if t != "patients"])
            assert set(others) == set(d["patients"]["patient_id"]), (key, condition_id)


def test_sex_and_home_region_codes_follow_section_3(tables):
    for condition_id in ("sct_ssc", "skeletal_dysplasia"):
        patients = _all_rows(tables, condition_id, "patients")
        assert set(patients["sex"]) == {"K", "M"}
        assert set(patients["home_region"]) <= set(REGION_CODES) | {"99"}
        assert "99" in set(patients["home_region"])
    all_regions = pd.concat([_all_rows(tables, c, "patients")["home_region"]
                             for c in ("sct_ssc", "skeletal_dysplasia")])
    assert set(all_regions) == set(REGION_CODES) | {"99"}


def test_sct_patients_keep_sex_birth_date_and_region_across_deliveries(tables):
    patients = _all_rows(tables, "sct_ssc", "patients")
    per_patient = patients.groupby(["unit_id", "patient_id"])[["sex", "birth_date", "home_region"]].nunique()
    assert (per_patient == 1).all().all()
    assert (patients.groupby(["unit_id", "patient_id"]).size() > 1).any()
    assert ((patients["birth_date"].dt.month == 2) & (patients["birth_date"].dt.day == 29)).any()


# --- dates ------------------------------------------------------------------------------


def _event_dates(d: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """(patient_id, date) for every event date of every non-patient table."""
    parts = []
    for table, frame in d.items():
        if table == "patients":
            continue
        for column in [c for c in frame.columns if c.endswith("_date")]:
            parts.append(frame[["patient_id", column]].rename(columns={column: "date"}).dropna())
    return pd.concat(parts, ignore_index=True)


def test_no_date_after_31_december_of_the_report_year_and_none_before_birth(tables):
    for condition_id in ("sct_ssc", "skeletal_dysplasia"):
        for report_year, unit_id, d in _deliveries(tables, condition_id):
            events = _event_dates(d)
            assert events["date"].max() <= pd.Timestamp(f"{report_year}-12-31")
            births = d["patients"].set_index("patient_id")["birth_date"]
            assert (events["date"] >= events["patient_id"].map(births)).all(), (report_year, unit_id)


def test_some_rows_are_dated_outside_the_measurement_year(tables):
    for condition_id, table, column in [("sct_ssc", "referrals", "referral_date"),
                                        ("skeletal_dysplasia", "contacts", "contact_date")]:
        rows = _all_rows(tables, condition_id, table)
        start = pd.to_datetime(rows["report_year"].astype(str) + "-01-01") - pd.DateOffset(years=1)
        if condition_id == "skeletal_dysplasia":
            start = pd.Series(pd.Timestamp("2025-09-01"), index=rows.index)
        outside = (rows[column] < start) | (rows[column].dt.year >= rows["report_year"])
        assert outside.any() and not outside.all(), condition_id


def test_sct_dates_are_in_order(tables):
    ref = _all_rows(tables, "sct_ssc", "referrals")
    assert (ref["assessment_date"].dropna() >= ref.loc[ref["assessment_date"].notna(), "referral_date"]).all()
    assert (ref["decision_date"].dropna() >= ref.loc[ref["decision_date"].notna(), "referral_date"]).all()
    tx = _all_rows(tables, "sct_ssc", "transplants")
    assert (tx["mobilization_date"] >= tx["decision_date"]).all()
    assert (tx["reinfusion_date"] >= tx["mobilization_date"]).all()
    discharged = tx.dropna(subset=["discharge_date"])
    assert (discharged["discharge_date"] >= discharged["reinfusion_date"]).all()
    survey = pd.concat([_all_rows(tables, c, "survey") for c in ("sct_ssc", "skeletal_dysplasia")])
    answered = survey.dropna(subset=["response_date"])
    assert (answered["response_date"] >= answered["sent_date"]).all()


def test_sct_iff_rules_hold(tables):
    ref = _all_rows(tables, "sct_ssc", "referrals")
    assert ((ref["sct_offered"] != "") == ref["decision_date"].notna()).all()
    assert ((ref["care_plan"] != "") == ref["assessment_date"].notna()).all()
    assert set(ref["sct_offered"]) == {"", "0", "1"} and set(ref["care_plan"]) == {"", "0", "1"}
    fu = _all_rows(tables, "sct_ssc", "followup")
    assert ((fu["death_transplant_related"] != "") == fu["death_date"].notna()).all()


# --- sct_ssc transplants across deliveries and follow-up (§4.3, §4.5) -------------------


def _transplants_ever(tables) -> pd.DataFrame:
    """Each transplant once, with its latest (most filled-in) discharge date."""
    tx = _all_rows(tables, "sct_ssc", "transplants").sort_values("report_year")
    return tx.groupby(["unit_id", "transplant_id"]).last().reset_index()


def test_delivery_holds_transplants_reinfused_or_discharged_in_the_measurement_year(tables):
    ever = _transplants_ever(tables)
    for report_year, unit_id, d in _deliveries(tables, "sct_ssc"):
        year = report_year - 1
        mine = ever.loc[ever["unit_id"] == unit_id]
        expected = mine.loc[(mine["reinfusion_date"].dt.year == year) | (mine["discharge_date"].dt.year == year)]
        assert set(d["transplants"]["transplant_id"]) == set(expected["transplant_id"])


def test_carried_transplant_keeps_id_patient_and_dates_and_only_fills_in_discharge(tables):
    tx = _all_rows(tables, "sct_ssc", "transplants")
    carried = tx.loc[tx.duplicated(["unit_id", "transplant_id"], keep=False)].sort_values("report_year")
    assert len(carried) >= 2
    fixed = ["patient_id", "decision_date", "mobilization_date", "reinfusion_date"]
    assert (carried.groupby(["unit_id", "transplant_id"])[fixed].nunique() == 1).all().all()
    # groupby().first()/.last() skip missing values, so take the rows by position
    first = carried.groupby(["unit_id", "transplant_id"]).nth(0)
    last = carried.groupby(["unit_id", "transplant_id"]).nth(-1)
    assert first["discharge_date"].isna().all()
    assert last["discharge_date"].notna().all()
    assert (last["discharge_date"].dt.year == last["report_year"] - 1).all()


def test_followup_has_one_row_per_transplant_reinfused_in_the_three_years_before(tables):
    ever = _transplants_ever(tables)
    for report_year, unit_id, d in _deliveries(tables, "sct_ssc"):
        mine = ever.loc[ever["unit_id"] == unit_id]
        expected = mine.loc[mine["reinfusion_date"].dt.year.between(report_year - 3, report_year - 1)]
        fu = d["followup"].merge(expected[["transplant_id", "patient_id", "reinfusion_date"]],
                                 on="transplant_id", how="outer", suffixes=("", "_tx"), indicator=True)
        assert (fu["_merge"] == "both").all(), (report_year, unit_id)
        assert (fu["patient_id"] == fu["patient_id_tx"]).all()


def test_followup_dates_death_before_last_followup_and_organ_failure_after_reinfusion(tables):
    fu = _all_rows(tables, "sct_ssc", "followup")
    tx = _transplants_ever(tables)[["unit_id", "transplant_id", "reinfusion_date"]]
    fu = fu.merge(tx, on=["unit_id", "transplant_id"])
    dead = fu.dropna(subset=["death_date"])
    assert (dead["death_date"] <= dead["last_followup_date"]).all()
    for organ in ("heart", "lung", "kidney"):
        failed = fu.dropna(subset=[f"{organ}_failure_date"])
        assert len(failed) > 0, organ
        assert (failed[f"{organ}_failure_date"] >= failed["reinfusion_date"]).all()
        assert (failed[f"{organ}_failure_date"] <= failed["last_followup_date"]).all()


def test_followup_is_complete_for_the_r1_and_r2_cohorts(tables):
    tx = _transplants_ever(tables)[["unit_id", "transplant_id", "reinfusion_date"]]
    fu = _all_rows(tables, "sct_ssc", "followup").merge(tx, on=["unit_id", "transplant_id"])
    cohort_year = fu["reinfusion_date"].dt.year
    r1 = fu.loc[cohort_year == fu["report_year"] - 2]
    r1_ok = r1["death_date"].notna() | (r1["last_followup_date"] >= r1["reinfusion_date"] + pd.Timedelta(days=100))
    assert len(r1) > 0 and r1_ok.all()
    r2 = fu.loc[cohort_year == fu["report_year"] - 3]
    horizon = r2["reinfusion_date"] + pd.Timedelta(days=730)
    failure = r2[["heart_failure_date", "lung_failure_date", "kidney_failure_date"]].min(axis=1)
    r2_ok = (r2["death_date"] <= horizon) | (failure <= horizon) | (r2["last_followup_date"] >= horizon)
    assert len(r2) > 0 and r2_ok.all()


def test_r1_and_r2_meet_early_deaths_related_and_unrelated_and_late_deaths(tables):
    fu = _all_rows(tables, "sct_ssc", "followup").merge(
        _transplants_ever(tables)[["unit_id", "transplant_id", "reinfusion_date"]], on=["unit_id", "transplant_id"])
    early = fu.loc[fu["death_date"] <= fu["reinfusion_date"] + pd.Timedelta(days=100)]
    assert set(early["death_transplant_related"]) == {"0", "1"}
    late = fu.loc[fu["death_date"] > fu["reinfusion_date"] + pd.Timedelta(days=100)]
    assert len(late) > 0


def test_a_patient_with_two_transplants_exists(tables):
    tx = _transplants_ever(tables)
    assert tx.groupby(["unit_id", "patient_id"]).size().max() >= 2


# --- skeletal_dysplasia (§5) -------------------------------------------------------------


def test_skd_contacts_cover_every_type_and_visit_mode_iff_a_visit(tables):
    contacts = _all_rows(tables, "skeletal_dysplasia", "contacts")
    assert set(contacts["contact_type"]) == {"new_visit", "return_visit", "mdk", "treatment_conference"}
    visit = contacts["contact_type"].isin(["new_visit", "return_visit"])
    assert set(contacts.loc[visit, "visit_mode"]) == {"physical", "digital"}
    assert (contacts.loc[~visit, "visit_mode"] == "").all()
    assert set(contacts["care_plan"]) == {"0", "1"}


def test_skd_referral_answered_by_at_most_one_visit_on_or_after_its_date(tables):
    for _r, _u, d in _deliveries(tables, "skeletal_dysplasia"):
        answering = d["contacts"].loc[d["contacts"]["referral_id"] != ""]
        assert answering["referral_id"].is_unique
        assert answering["contact_type"].isin(["new_visit", "return_visit"]).all()
        joined = answering.merge(d["referrals"], on="referral_id", suffixes=("", "_ref"), validate="one_to_one")
        assert len(joined) == len(answering)
        assert (joined["patient_id"] == joined["patient_id_ref"]).all()
        assert (joined["contact_date"] >= joined["referral_date"]).all()
        answered = d["referrals"]["referral_id"].isin(answering["referral_id"])
        assert set(d["referrals"].loc[answered, "approved"]) == {"0", "1"}
        assert (~answered).any()


def _age_in_years(birth: pd.Series, at: pd.Series) -> pd.Series:
    had_birthday = (at.dt.month > birth.dt.month) | ((at.dt.month == birth.dt.month) & (at.dt.day >= birth.dt.day))
    return at.dt.year - birth.dt.year - (~had_birthday).astype(int)


def test_skd_has_infants_and_17_and_18_year_olds_and_a_leap_day_birth(tables):
    patients = _all_rows(tables, "skeletal_dysplasia", "patients")
    contacts = _all_rows(tables, "skeletal_dysplasia", "contacts")
    in_period = contacts.loc[contacts["contact_type"].ne("treatment_conference")
                             & contacts["contact_date"].between("2025-09-01", "2025-12-31")]
    first = in_period.groupby(["unit_id", "patient_id"])["contact_date"].min().rename("first").reset_index()
    first = first.merge(patients, on=["unit_id", "patient_id"])
    ages = _age_in_years(first["birth_date"], first["first"])
    assert {0, 17, 18} <= set(ages)
    assert ((patients["birth_date"].dt.month == 2) & (patients["birth_date"].dt.day == 29)).any()


def test_skd_diagnoses_cover_specific_unclear_none_with_dates_in_and_before_the_period(tables):
    patients = _all_rows(tables, "skeletal_dysplasia", "patients")
    assert set(patients["diagnosis_at_referral"]) == {"specific", "unclear", "none"}
    dated = patients.dropna(subset=["specific_diagnosis_date"])
    assert (dated["diagnosis_at_referral"] != "specific").all()
    assert (dated["specific_diagnosis_date"] < "2025-09-01").any()
    assert dated["specific_diagnosis_date"].between("2025-09-01", "2025-12-31").any()


def test_skd_survey_answers_iff_response_with_the_respondents_scale(tables):
    survey = _all_rows(tables, "skeletal_dysplasia", "survey")
    answered = survey["response_date"].notna()
    assert ((survey["answer"] != "") == answered).all()
    assert (~answered).any()
    for respondent, options in SURVEY_ANSWERS.items():
        mine = survey.loc[answered & (survey["respondent"] == respondent), "answer"]
        assert set(mine) == set(options), respondent


def test_no_patient_answers_twice_on_one_response_date(tables):
    for condition_id in ("sct_ssc", "skeletal_dysplasia"):
        survey = _all_rows(tables, condition_id, "survey").dropna(subset=["response_date"])
        assert not survey.duplicated(["unit_id", "report_year", "patient_id", "response_date"]).any()


# --- the contract validator accepts the sample ---------------------------------------


def _validation_failures(root: Path) -> list[pd.DataFrame]:
    registry = read_registry(root, registered())
    found = [registry.failures] if not registry.failures.empty else []
    for condition_id, by_year in (("sct_ssc", SCT_UNITS_BY_YEAR), ("skeletal_dysplasia", SKD_UNITS_BY_YEAR)):
        for report_year in by_year:
            result = validate_delivery(root, report_year, get_condition(condition_id), registry.units, conditions=registered())
            if not result.failures.empty:
                found.append(result.failures)
    return found


def test_contract_validator_finds_no_failure_in_the_sample(root):
    found = _validation_failures(root)
    # failure rows name file, line, column and rule, never a value: safe to show
    assert found == [], pd.concat(found)[["report_year", "unit_id", "file", "line", "column", "rule"]].to_string()


@pytest.mark.parametrize(("seed", "scale"), [(5, 0.05)])
def test_contract_validator_accepts_other_seeds_and_scales(tmp_path, seed, scale):
    generate(tmp_path, registered(), seed=seed, scale=scale)
    found = _validation_failures(tmp_path)
    assert found == [], pd.concat(found)[["report_year", "unit_id", "file", "line", "column", "rule"]].to_string()
