"""The indicator catalogue: declared once, complete, and consistent with the spec."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from indicator_fixtures import units

from nhv_pipeline.core import labels
from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.contract.schema import contract_columns
from nhv_pipeline.contract.staging import to_staged
from nhv_pipeline.indicators import (
    MEASURE_KIND,
    RESULT_COLUMNS,
    catalogue_entries,
    compute,
    get_indicator,
    indicators_for,
    make_catalogue,
)
from nhv_pipeline.indicators.model import CATEGORIES, DIRECTIONS, KINDS, measure_kind

CATALOGUE = make_catalogue(registered())

ENTRY_KEYS = [
    "condition_id", "condition_name", "indicator_id", "name", "measure_text", "unit_of_measure", "purpose",
    "technical_description", "limitations", "category", "indicator_type", "direction", "data_source", "first_report_year", "cohort_lag_years",
    "pooled_years", "breakdowns", "measures", "spec_version", "spec_date", "target_level",
]  # fmt: skip

TEXT_KEYS = ["condition_name", "name", "measure_text", "unit_of_measure", "purpose", "category",
             "indicator_type", "data_source"]  # fmt: skip

#: The areas this file's hand-written expectations are about (others are checked by the conformance tests).
SHIPPED = ("sct_ssc", "skeletal_dysplasia")
SHIPPED_CATALOGUE = tuple(indicator for indicator in CATALOGUE if indicator.condition_id in SHIPPED)

#: DATA_CONTRACT.md sections 4 and 5: the tables each shipped condition delivers.
CONTRACT_TABLES = {
    "sct_ssc": {"patients", "referrals", "transplants", "survey", "followup"},
    "skeletal_dysplasia": {"patients", "referrals", "contacts", "survey"},
}

#: INDICATORS.md sections 2 and 3: (id, name, first report year).
EXPECTED = {
    "sct_ssc": [
        ("B1", "Antal patienter", 2024), ("B2", "Ålder hos patienter", 2024),
        ("B3", "Antal stamcellstransplantationer", 2024), ("B4", "Vårdtid", 2024),
        ("T1", "Tid till beslut om stamcellstransplantation", 2024),
        ("T2", "Tid från beslut om stamcellstransplantation till påbörjad stamcellsbehandling", 2024),
        ("R1", "Transplantationsrelaterad överlevnad", 2025), ("R2", "Sjukdomsfri överlevnad", 2026),
        ("P1", "Patientnöjdhet", 2025), ("Ö1", "Individuell vårdplan", 2024),
    ],
    "skeletal_dysplasia": [
        ("B1", "Antal patienter", 2026), ("B2", "Antal åtgärder", 2026), ("B3", "Ålder", 2026),
        ("T1", "Tid från remiss till besök", 2026), ("R1", "Andel som fått diagnos", 2026),
        ("P1", "Patientrapporterad erfarenhet", 2026),
        ("Ö1", "Andel som fått en individuell vårdplan", 2026),
    ],
}  # fmt: skip


def test_shipped_catalogue_has_ten_sct_and_seven_skeletal_indicators_with_seed_names():
    for condition_id, expected in EXPECTED.items():
        declared = [(i.indicator_id, i.name, i.first_report_year) for i in indicators_for(condition_id, make_catalogue(registered()))]
        assert declared == expected
        assert set(get_condition(condition_id).tables) == CONTRACT_TABLES[condition_id]
    assert len(SHIPPED_CATALOGUE) == 17


def test_o1_id_is_a_real_o_with_diaeresis():
    assert get_indicator("sct_ssc", "Ö1", make_catalogue(registered())).indicator_id == "\u00d61"


@pytest.mark.conformance
def test_catalogue_entries_have_exactly_the_published_keys_and_are_json_ready():
    entries = catalogue_entries(make_catalogue(registered()))
    assert len(entries) == len(CATALOGUE)
    for entry in entries:
        assert list(entry) == ENTRY_KEYS
    json.dumps(entries, ensure_ascii=False)


def test_every_catalogue_text_is_filled_from_the_seeds():
    # sct P1 has empty Mått/Mätenhet in the seed: the catalogue describes the
    # response rate the seed asks to publish instead.
    for entry in catalogue_entries(make_catalogue(registered())):
        for key in TEXT_KEYS:
            assert entry[key].strip(), f"{entry['condition_id']} {entry['indicator_id']}: empty {key}"
        assert entry["category"] in CATEGORIES
        assert entry["direction"] in DIRECTIONS
    sct_p1 = next(e for e in catalogue_entries(make_catalogue(registered())) if e["condition_id"] == "sct_ssc" and e["indicator_id"] == "P1")
    assert "svarsfrekvens" in sct_p1["measure_text"].lower()


#: What the seeds give under "Felkällor och begränsningar" (seed 001 leaves every one empty).
SEED_LIMITATIONS = {
    ("sct_ssc", "B2"): "Givet förväntat lågt antal patienter kommer inte data kunna visas årligen",
    ("sct_ssc", "B4"): "Allmänt hälsotillstånd och sjukdomsgrad kan variera mellan patienter",
    ("sct_ssc", "T1"): "Olika former av remisshantering mellan regioner är faktorer utanför NHV-enheten",
    ("sct_ssc", "T2"): "Patientvald väntan kan påverka tiden.",
    ("sct_ssc", "R1"): "Ett fåtal patienter kan missas om de transplanteras sista veckan på året.",
    ("sct_ssc", "R2"): "Allmänt hälsotillstånd och sjukdomsgrad kan variera mellan patienter",
}

#: A sentence of each seed's "Teknisk beskrivning" (sct P1: the seed leaves it empty).
SEED_TECHNICAL = {
    ("sct_ssc", "B1"): "Antal patienter som bedömts någon gång under året inom NHV-definitionen för viss vård vid SCT.",
    ("sct_ssc", "B2"): "Detta bakgrundsmått innefattar samtliga patienter som behandlats under året.",
    ("sct_ssc", "B3"): "I detta bakgrundsmått är mätenheten antal genomförda stamcellstransplantationer totalt.",
    ("sct_ssc", "B4"): "Vårdtiden beräknas från dagen då stamceller återförs till patienten till utskrivningsdatum.",
    ("sct_ssc", "T1"): "tid till beslut redovisas separat för de som erbjuds SCT och de som inte erbjuds SCT.",
    ("sct_ssc", "T2"): "tills dess att cell-mobiliserande dos cyklofosfamid ges",
    ("sct_ssc", "R1"): "Nämnare: Samtliga patienter som behandlats två år innan rapportår.",
    ("sct_ssc", "R2"): "- njursvikt (uremi eller kvarstående dialysbehov eller genomgången organtransplantation).",
    ("sct_ssc", "Ö1"): "Täljare: Antal patienter enligt nämnaren som vid utskrivning fått en individuell vårdplan.",
    ("skeletal_dysplasia", "B1"): "• Juridiskt kön vid bedömning",
    ("skeletal_dysplasia", "B2"): "En patient kan förekomma i flera av kategorierna nedan under året.",
    ("skeletal_dysplasia", "B3"): "(barnets ålder i antal dagar dividerat med 365)",
    ("skeletal_dysplasia", "T1"): "minus datum för inkommen, registrerad och godkänd remiss.",
    ("skeletal_dysplasia", "R1"): "som fått en specifik skelettdysplasi-diagnos efter bedömning på NHV-enhet",
    ("skeletal_dysplasia", "P1"): "”Fick du tillräcklig information om din vård och behandling?”",
    ("skeletal_dysplasia", "Ö1"): "planerade återbesök och kontaktinformation.",
}


def test_technical_descriptions_and_limitations_are_the_shipped_seeds_texts():
    """PUBLICATION.md 4: Teknisk beskrivning and Felkällor och begränsningar, from the seed, where it gives them."""
    for entry in catalogue_entries(SHIPPED_CATALOGUE):
        key = (entry["condition_id"], entry["indicator_id"])
        for field, seed in (("technical_description", SEED_TECHNICAL), ("limitations", SEED_LIMITATIONS)):
            assert (seed[key] in entry[field]) if key in seed else entry[field] == "", (key, field)
        # Paragraphs are kept apart by one blank line, never run together or padded.
        for text in (entry["technical_description"], entry["limitations"]):
            assert "\n\n\n" not in text and text == text.strip(), key
    assert get_indicator("skeletal_dysplasia", "P1", make_catalogue(registered())).technical_description.count("\n\n") == 7


def test_what_n_counts_is_said_for_every_measure():
    """SUBMISSION.md 7: the template says what N counts; skeletal P1's two measures count different people."""
    for indicator in CATALOGUE:
        for measure in indicator.measures:
            assert indicator.n_counts_for(measure).strip(), (indicator.key, measure)
    p1 = get_indicator("skeletal_dysplasia", "P1", make_catalogue(registered()))
    assert p1.n_counts_for("positive_share") != p1.n_counts_for("response_rate")


def test_spec_versions_and_dates_per_shipped_condition():
    for entry in catalogue_entries(SHIPPED_CATALOGUE):
        expected = {"sct_ssc": ("1.0", "2023-01-03"), "skeletal_dysplasia": ("1.0", "2025-05-27")}
        assert (entry["spec_version"], entry["spec_date"]) == expected[entry["condition_id"]]


def test_directions_and_categories_follow_the_seeds():
    def of(condition_id: str, indicator_id: str):
        indicator = get_indicator(condition_id, indicator_id, make_catalogue(registered()))
        return indicator.category, indicator.direction

    assert of("sct_ssc", "T1") == ("Tillgänglighetsmått", "lower_is_better")
    assert of("sct_ssc", "R1") == ("Resultatmått", "higher_is_better")
    assert of("sct_ssc", "B2") == ("Bakgrundsmått", "descriptive")
    assert of("sct_ssc", "Ö1") == ("Överrapporteringsmått", "higher_is_better")
    assert of("skeletal_dysplasia", "T1") == ("Tillgänglighetsmått", "descriptive")  # "Deskriptivt mått"
    assert of("skeletal_dysplasia", "P1") == ("Patientrapporterat mått", "higher_is_better")
    assert of("skeletal_dysplasia", "Ö1")[0] == "Överrapporteringsmått"


def test_lags_and_pooling():
    assert get_indicator("sct_ssc", "R1", make_catalogue(registered())).cohort_lag == 2
    assert get_indicator("sct_ssc", "R2", make_catalogue(registered())).cohort_lag == 3
    assert get_indicator("sct_ssc", "B2", make_catalogue(registered())).pooled_years == 3
    ordinary = [i for i in SHIPPED_CATALOGUE if i.key not in {"sct_ssc/R1", "sct_ssc/R2", "sct_ssc/B2"}]
    assert all(i.cohort_lag == 0 and i.pooled_years == 1 for i in ordinary)


@pytest.mark.conformance
@pytest.mark.parametrize("indicator", CATALOGUE, ids=lambda i: i.key)
def test_inputs_measures_and_breakdowns_are_consistent(indicator):
    condition = get_condition(indicator.condition_id)
    tables = [i.table for i in indicator.inputs]
    assert len(tables) == len(set(tables)), "each table declared once"
    assert set(tables) <= set(condition.tables), f"{indicator.key} reads a table its condition does not deliver"
    for table_input in indicator.inputs:
        first, last = table_input.offsets
        assert first <= last <= 0
    assert indicator.rule_version
    assert indicator.measures and all(measure_kind(m, indicator.condition) in KINDS for m in indicator.measures)
    for measure in indicator.measures:
        breakdowns = indicator.breakdowns_for(measure)
        assert breakdowns[0] == "total"
        assert set(breakdowns) <= set(indicator.breakdowns)
        assert all(b in labels.breakdown_labels(registered()) for b in breakdowns)


def test_the_shared_measures_are_those_of_the_spec():
    assert MEASURE_KIND == {"count": "count", "distribution": "distribution", "proportion": "proportion",
                            "response_rate": "proportion", "positive_share": "proportion"}


def test_skeletal_p1_breakdowns_differ_per_measure():
    p1 = get_indicator("skeletal_dysplasia", "P1", make_catalogue(registered()))
    assert p1.measures == ("positive_share", "response_rate")
    assert p1.breakdowns_for("positive_share") == ("total", "respondent")
    assert p1.breakdowns_for("response_rate") == ("total",)


def test_table_input_lists_the_delivery_years():
    b2 = get_indicator("sct_ssc", "B2", make_catalogue(registered()))
    assert b2.inputs[0].report_years(2026) == (2024, 2025, 2026)
    assert get_indicator("sct_ssc", "R2", make_catalogue(registered())).inputs[0].report_years(2026) == (2024,)


def test_every_region_code_of_the_contract_has_a_label():
    codes = {"01", "03", "04", "05", "06", "07", "08", "09", "10", "12", "13", "14",
             "17", "18", "19", "20", "21", "22", "23", "24", "25", "99"}  # fmt: skip
    assert set(labels.HOME_REGION) == codes
    assert labels.breakdown_label("home_region", "14") == "Västra Götalandsregionen"
    with pytest.raises(KeyError):
        labels.breakdown_label("home_region", "02")


def _empty_staged(condition_id: str, table: str) -> pd.DataFrame:
    """A staged table with no rows, typed from the condition's contract (as the staged layer types it)."""
    raw = pd.DataFrame({c: pd.Series([], dtype=object) for c in [*contract_columns(get_condition(condition_id), table), "unit_id", "source_file"]})
    return to_staged(get_condition(condition_id), table, raw.assign(report_year=pd.Series([], dtype="int64"),
                                                      source_line=pd.Series([], dtype="int64")))


@pytest.mark.conformance
@pytest.mark.parametrize("indicator", CATALOGUE, ids=lambda i: i.key)
def test_every_indicator_computes_zero_total_rows_on_empty_deliveries(indicator):
    report_year = 2027
    tables = {i.table: _empty_staged(indicator.condition_id, i.table) for i in indicator.inputs}
    result = compute(indicator, report_year, tables, units())
    assert list(result.columns) == RESULT_COLUMNS
    assert set(result["breakdown"]) == {"total"}
    assert set(result["measure"]) == set(indicator.measures)
    assert (result["n"] == 0).all()
    riket = result[result["level"] == "riket"]
    assert len(riket) == len(indicator.measures)
