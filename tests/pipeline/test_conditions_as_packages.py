"""An area is one package: a third condition and a new specification version need no core change.

Issue "One package per condition": a condition defined only under tests/ is registered
and flows raw -> staged -> results -> published; a test-only version 2.0 of a real
condition changes one indicator from a report year on and leaves earlier years as they
were; and no module of the core names a condition. The pipeline runs in this process
(`runner.run_report_years`, the same code the CLI calls), so the registry the test
changed is the one the Dagster definitions are built from.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import third_condition
from nhv_pipeline.contract.reports import read_unit_report
from nhv_pipeline.core.condition import Specification
from nhv_pipeline.conditions import condition_ids, get_condition, register, registered, unregister
from nhv_pipeline.indicators.model import RuleContext, attach_patient
from nhv_pipeline.operations.runner import run_report_years
from pipeline_helpers import conditions_in, tree_digest

PACKAGE = Path(__file__).resolve().parents[2] / "nhv_pipeline"


@pytest.mark.conformance
def test_no_module_outside_the_condition_packages_names_a_condition():
    """A condition id appears only under nhv_pipeline/conditions/ (plus the registry's import of the packages)."""
    ids = condition_ids()
    assert ids, "no condition registered"
    assert (PACKAGE / "definitions.py").is_file(), PACKAGE
    pattern = re.compile("|".join(re.escape(c) for c in ids))
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("conditions/"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


def _workspace(tmp_path: Path, sample_data: Path, extra_files: dict[str, str], units_rows: str = "") -> dict[str, Path]:
    data_raw = tmp_path / "data_raw"
    shutil.copytree(sample_data, data_raw)
    registry = (data_raw / "units.csv").read_text(encoding="utf-8")
    new_rows = "".join(line + "\n" for line in units_rows.splitlines() if line.split(",")[:2] not in
                       [known.split(",")[:2] for known in registry.splitlines()])  # a session's sample may list them
    with (data_raw / "units.csv").open("a", encoding="utf-8", newline="") as handle:
        handle.write(new_rows)
    for relative, text in extra_files.items():
        target = data_raw / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="")
    return {"data_raw": data_raw, "warehouse": tmp_path / "warehouse", "home": tmp_path / "dagster_home"}


def _run(paths: dict[str, Path], monkeypatch, capsys) -> tuple[int, str]:
    paths["home"].mkdir(exist_ok=True)
    monkeypatch.setenv("DAGSTER_HOME", str(paths["home"]))
    code = run_report_years(paths["data_raw"], paths["warehouse"], None, True, quiet=True)
    return code, capsys.readouterr().err


def _results(paths: dict[str, Path], where: str) -> pd.DataFrame:
    with duckdb.connect(str(paths["warehouse"] / "nhv.duckdb"), read_only=True) as con:
        return con.execute(f"select * from results.indicator_results where {where}").df()


def _row(frame: pd.DataFrame, **match) -> pd.Series:
    selected = frame
    for column, value in match.items():
        selected = selected[selected[column] == value]
    assert len(selected) == 1, f"expected one row for {match}, found {len(selected)}"
    return selected.iloc[0]


def test_a_third_condition_flows_from_raw_to_published_with_no_core_change(
    area_registered, tmp_path, sample_data, monkeypatch, capsys
):
    paths = _workspace(tmp_path, sample_data, third_condition.FILES, third_condition.UNITS_CSV_ROWS)
    code, err = _run(paths, monkeypatch, capsys)
    assert code == 0, err[-3000:]

    with duckdb.connect(str(paths["warehouse"] / "nhv.duckdb"), read_only=True) as con:
        raw = con.execute("select count(*) from raw.test_area_visits where report_year = 2025").fetchone()[0]
        staged = con.execute("select count(*) from staged.test_area_visits where report_year = 2025").fetchone()[0]
    assert (raw, staged) == (5, 5)

    b1 = _results(paths, "condition_id = 'test_area' and indicator_id = 'B1' and report_year = 2025")
    # alpha: A1 (two visits, 2024-01-01 and 2024-06-01) and A2 (2024-12-31); A3 visited 2023-12-31. beta: B1.
    assert _row(b1, level="riket", breakdown="total")["n"] == 3
    assert _row(b1, level="enhet", unit_id="alpha", breakdown="total")["n"] == 2
    assert _row(b1, level="riket", breakdown="sex", breakdown_value="K")["n"] == 2
    assert _row(b1, level="riket", breakdown="sex", breakdown_value="K")["breakdown_label"] == "Kvinnor"
    assert _row(b1, level="enhet", unit_id="alpha", breakdown="sex", breakdown_value="M")["n"] == 1

    b2 = _results(paths, "condition_id = 'test_area' and indicator_id = 'B2' and report_year = 2025")
    alpha = _row(b2, level="enhet", unit_id="alpha")
    # A1 is 43 at 2024-01-01 (born 1980-05-01), A2 34 at 2024-12-31 (born 1990-01-01).
    assert (alpha["n"], alpha["mean"], alpha["median"]) == (2, 38.5, 38.5)
    assert alpha["sd"] == pytest.approx(6.3639610, abs=1e-6)
    riket = _row(b2, level="riket")
    assert riket["mean"] == pytest.approx((43 + 34 + 54) / 3)

    r1 = _results(paths, "condition_id = 'test_area' and indicator_id = 'R1'")
    assert set(r1["report_year"]) == {2026}, "R1 starts in 2026"
    national = _row(r1, level="riket")
    # Cohort 2024 read from D(2025): alpha V1 (1), V2 (0), V3 (0); beta W1 (1). V4 is dated 2023.
    assert (national["numerator"], national["denominator"], national["value"]) == (2, 4, 50.0)
    assert str(national["period_start"])[:10] == "2024-01-01" and str(national["period_end"])[:10] == "2024-12-31"
    assert _row(r1, level="enhet", unit_id="alpha")["numerator"] == 1

    # B1 by its own age groups, in its own words (another area words its age_group otherwise).
    b1_2026 = _results(paths, "condition_id = 'test_area' and indicator_id = 'B1' and report_year = 2026")
    young = _row(b1_2026, level="riket", breakdown="age_group", breakdown_value="young")
    assert (young["n"], young["breakdown_label"]) == (1, "Yngre än 18 år")

    # S1: the area's own measure kind `score` over a number column (decimal comma, both ends of 0-10, empty skipped).
    s1 = _row(_results(paths, "condition_id = 'test_area' and indicator_id = 'S1' and report_year = 2025"), level="riket")
    assert (s1["measure"], s1["n"], s1["mean"]) == ("score", 3, pytest.approx((0 + 3.5 + 10) / 3))

    # W1 counts 1 December 2024 - 30 November 2025 (its own window) and publishes that period:
    # V3 (31 December 2024, from D(2025)), V9, W9; V10 on 1 December 2025 is one day after.
    w1 = _results(paths, "condition_id = 'test_area' and indicator_id = 'W1'")
    assert set(w1["report_year"]) == {2026}
    national = _row(w1, level="riket")
    assert national["n"] == 3 and _row(w1, level="enhet", unit_id="alpha")["n"] == 2
    assert str(national["period_start"])[:10] == "2024-12-01" and str(national["period_end"])[:10] == "2025-11-30"

    published = pd.read_csv(paths["warehouse"] / "published" / "2026" / "indicator_results.csv", dtype=str)
    ours = published[published["condition_id"] == "test_area"]
    assert set(ours["indicator_id"]) == {"B1", "B2", "S1", "R1", "W1"}, "F1 begins with version 2.0 in 2027"
    w1_published = ours[ours["indicator_id"] == "W1"]
    assert set(w1_published["period_start"]) == {"2024-12-01"} and set(w1_published["period_end"]) == {"2025-11-30"}
    assert (ours.loc[ours["indicator_id"] == "R1", "suppressed"] == "true").all(), "n < 5 is withheld"
    assert set(published["condition_id"]) == set(conditions_in(2026)) and "test_area" in set(published["condition_id"])

    # Its assets begin at its own first report year (start 2024: report year 2025), R1 at 2026.
    from dagster import AssetKey, DagsterInstance

    with DagsterInstance.from_config(str(paths["home"])) as instance:
        assert instance.get_materialized_partitions(AssetKey(["raw", "test_area", "visits"])) == {"2025", "2026"}
        assert instance.get_materialized_partitions(AssetKey(["staged", "test_area", "visits"])) == {"2025", "2026"}
        assert instance.get_materialized_partitions(AssetKey(["results", "test_area", "B1"])) == {"2025", "2026"}
        assert instance.get_materialized_partitions(AssetKey(["results", "test_area", "R1"])) == {"2026"}
        assert instance.get_materialized_partitions(AssetKey(["results", "test_area", "W1"])) == {"2026"}
        assert instance.get_materialized_partitions(AssetKey(["staged", "test_area", "followup"])) == {"2025", "2026"}


def test_a_third_conditions_contract_failures_are_reported_like_the_real_ones(
    area_registered, tmp_path, sample_data, monkeypatch, capsys
):
    files = dict(third_condition.FILES)
    files["2025/test_area/beta/visits.csv"] = "visit_id;patient_id;visit_date;improved;score\nW1;B1;2024-13-01;1;11\n"
    # A1 was born 1980-05-01 in D(2025): another birth date in D(2026) breaks a rule over earlier deliveries.
    files["2026/test_area/alpha/patients.csv"] = "patient_id,sex,birth_date,home_region\nA1,K,1980-05-02,01\n"
    paths = _workspace(tmp_path, sample_data, files, third_condition.UNITS_CSV_ROWS)
    code, err = _run(paths, monkeypatch, capsys)
    assert code == 1
    assert re.search(r"FAILED 2025 test_area beta 2025/test_area/beta/visits\.csv line 2, column visit_date: \[date_format\]", err), err[-3000:]
    report = read_unit_report(paths["warehouse"] / "validation" / "2025" / "test_area" / "beta.csv")
    assert report[["line", "column", "rule"]].values.tolist() == [["2", "score", "number"], ["2", "visit_date", "date_format"]]
    assert "score ska vara ett tal från 0 till 10" in " ".join(report["message"])
    later = read_unit_report(paths["warehouse"] / "validation" / "2026" / "test_area" / "alpha.csv")
    assert later[["line", "column", "rule"]].values.tolist() == [["2", "birth_date", "changed_since_earlier"]]
    assert later["message"].iloc[0].startswith("birth_date skiljer sig från det som levererades tidigare för samma patient_id")
    # A failed check stops this area's part only (PUBLICATION.md, top): it had none, so it is absent,
    # and the other conditions' 2025 is published.
    manifest = json.loads((paths["warehouse"] / "published" / "2025" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["conditions"]["test_area"]["status"] == "withheld"
    assert manifest["conditions"]["sct_ssc"]["status"] == "updated"
    published = pd.read_csv(paths["warehouse"] / "published" / "2025" / "indicator_results.csv", dtype=str)
    assert set(published["condition_id"]) == set(conditions_in(2025)) - {"test_area"}


def test_sample_data_writes_every_registered_condition(area_registered, tmp_path):
    from nhv_pipeline.core.sample_data import generate

    summary = generate(tmp_path / "sample", registered(), seed=7)
    written = {path.as_posix() for path in summary.files}
    assert "2026/test_area/beta/visits.csv" in written and "2025/test_area/alpha/patients.csv" in written
    assert "test_area,alpha,Alfa sjukhus" in (tmp_path / "sample" / "units.csv").read_text(encoding="utf-8")
    # Registering a condition after the others leaves their sample files byte-identical.
    unregister(third_condition.CONDITION_ID)
    before = tree_digest(tmp_path / "sample")
    generate(tmp_path / "plain", registered(), seed=7)
    plain = tree_digest(tmp_path / "plain")
    register(third_condition.CONDITION)
    shared = {name: digest for name, digest in before.items() if not name.startswith(("2025/test_area", "2026/test_area"))}
    assert {k: v for k, v in shared.items() if k not in ("units.csv", "README.md")} == {
        k: v for k, v in plain.items() if k not in ("units.csv", "README.md")
    }


# --- specification versions ---------------------------------------------------------------------------


def _b1_v2(ctx: RuleContext) -> pd.DataFrame:
    """A test-only B1 of "version 2.0": patients with a referral *received* in P(R) (not assessed)."""
    referrals = ctx.table("referrals")
    patients = referrals[ctx.in_period(referrals["referral_date"])][["report_year", "unit_id", "patient_id"]].drop_duplicates()
    return attach_patient(patients, ctx.table("patients"), ["home_region", "sex"])


@pytest.fixture
def sct_version_2():
    original = get_condition("sct_ssc")
    v1 = original.specifications[0]
    changed = tuple(
        dataclasses.replace(indicator, rule=_b1_v2, rule_version="2") if indicator.indicator_id == "B1" else indicator
        for indicator in v1.indicators
    )
    register(
        dataclasses.replace(original, specifications=(v1, Specification("2.0", "2025-11-01", 2026, changed))),
        replace=True,
    )
    try:
        yield
    finally:
        register(original, replace=True)


@pytest.fixture(scope="module")
def version_1_run(tmp_path_factory, sample_data):
    """The committed sample under the shipped specifications (run in a subprocess: the registry as shipped)."""
    from pipeline_helpers import make_workspace

    workspace = make_workspace(tmp_path_factory.mktemp("v1"), sample_data)
    completed = workspace.cli("run", "--all", "--quiet")
    assert completed.returncode == 0, completed.stderr[-3000:]
    return workspace


def test_a_new_specification_version_applies_from_its_report_year_only(
    sct_version_2, version_1_run, tmp_path, sample_data, monkeypatch, capsys
):
    paths = _workspace(tmp_path, sample_data, {})
    code, err = _run(paths, monkeypatch, capsys)
    assert code == 0, err[-3000:]
    before, after = version_1_run.warehouse / "published", paths["warehouse"] / "published"
    for year in (2024, 2025):  # re-running an earlier year after a new version: byte-identical
        for name in ("indicator_results.csv", "indicator_results.parquet", "indicator_results.json"):
            assert (after / str(year) / name).read_bytes() == (before / str(year) / name).read_bytes(), (year, name)
    new = pd.read_csv(after / "2026" / "indicator_results.csv", dtype=str)
    old = pd.read_csv(before / "2026" / "indicator_results.csv", dtype=str)
    untouched = ["B2", "B3", "T1", "R1", "R2", "Ö1"]
    key = ["condition_id", "indicator_id", "measure", "level", "unit_id", "breakdown", "breakdown_value"]
    for frame in (new, old):
        frame.sort_values(key, inplace=True, ignore_index=True)
    same = lambda f: f[(f["condition_id"] == "skeletal_dysplasia") | f["indicator_id"].isin(untouched)].reset_index(drop=True)
    pd.testing.assert_frame_equal(same(new), same(old))

    # 2026 B1 follows the v2 rule: hand-counted from the staged referrals of D(2026) (referral_date in 2025).
    with duckdb.connect(str(paths["warehouse"] / "nhv.duckdb"), read_only=True) as con:
        expected = con.execute(
            "select count(*) from (select distinct unit_id, patient_id from staged.sct_ssc_referrals "
            "where report_year = 2026 and referral_date between '2025-01-01' and '2025-12-31')"
        ).fetchone()[0]
        assessed = con.execute(
            "select count(*) from (select distinct unit_id, patient_id from staged.sct_ssc_referrals "
            "where report_year = 2026 and assessment_date between '2025-01-01' and '2025-12-31')"
        ).fetchone()[0]
    assert expected != assessed, "the fixture must tell the two rules apart"
    national = _results(paths, "condition_id = 'sct_ssc' and indicator_id = 'B1' and report_year = 2026 "
                               "and level = 'riket' and breakdown = 'total'")
    assert int(national["n"].iloc[0]) == expected

    import json

    catalogue = {year: json.loads((after / str(year) / "indicator_catalogue.json").read_text(encoding="utf-8"))
                 for year in (2025, 2026)}
    sct = {year: {e["spec_version"] for e in entries if e["condition_id"] == "sct_ssc"} for year, entries in catalogue.items()}
    assert sct == {2025: {"1.0"}, 2026: {"2.0"}}


def test_specification_in_force_is_chosen_by_report_year():
    condition = get_condition("sct_ssc")
    assert condition.specification_for(2023) is None
    assert condition.specification_for(2024).version == "1.0"
    assert condition.specification_for(2040).version == "1.0"
    with pytest.raises(ValueError):
        dataclasses.replace(condition, specifications=(condition.specifications[0], dataclasses.replace(
            condition.specifications[0], from_report_year=2024)))
    assert get_condition("skeletal_dysplasia").indicators_for(2025) == ()
    assert {i.spec_version for i in get_condition("skeletal_dysplasia").indicators_for(2026)} == {"1.0"}
    assert date(2025, 9, 1) == get_condition("skeletal_dysplasia").start
