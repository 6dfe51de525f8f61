"""Swedish display labels (PUBLICATION.md section 2, `breakdown_label`).

Region names are exactly those of DATA_CONTRACT.md section 3; `99` is the
project's own code for a patient not registered in Sweden.
"""

from __future__ import annotations

CONDITION_NAMES: dict[str, str] = {
    "sct_ssc": "Stamcellstransplantation vid systemisk skleros",
    "skeletal_dysplasia": "Skelettdysplasier",
}

RIKET_NAME = "Riket"

TOTAL_LABEL = "Totalt"

HOME_REGION: dict[str, str] = {
    "01": "Region Stockholm",
    "03": "Region Uppsala",
    "04": "Region Sörmland",
    "05": "Region Östergötland",
    "06": "Region Jönköpings län",
    "07": "Region Kronoberg",
    "08": "Region Kalmar län",
    "09": "Region Gotland",
    "10": "Region Blekinge",
    "12": "Region Skåne",
    "13": "Region Halland",
    "14": "Västra Götalandsregionen",
    "17": "Region Värmland",
    "18": "Region Örebro län",
    "19": "Region Västmanland",
    "20": "Region Dalarna",
    "21": "Region Gävleborg",
    "22": "Region Västernorrland",
    "23": "Region Jämtland Härjedalen",
    "24": "Region Västerbotten",
    "25": "Region Norrbotten",
    "99": "Ej folkbokförd i Sverige",
}

SEX: dict[str, str] = {"K": "Kvinnor", "M": "Män"}

SCT_OFFERED: dict[str, str] = {"yes": "Erbjuden SCT", "no": "Ej erbjuden SCT"}

AGE_GROUP: dict[str, str] = {
    "child": "Barn (0–17 år)",
    "adult": "Vuxna (18 år och äldre)",
}

CONTACT_TYPE: dict[str, str] = {
    "mdk": "Bedömning på MDK",
    "new_visit": "Nybesök",
    "treatment_conference": "Behandlingskonferens",
}

RESPONDENT: dict[str, str] = {
    "patient": "Patienter (vuxna)",
    "relative": "Närstående till barn",
}

#: breakdown id -> {breakdown_value: Swedish label}
BREAKDOWN_LABELS: dict[str, dict[str, str]] = {
    "total": {"total": TOTAL_LABEL},
    "home_region": HOME_REGION,
    "sex": SEX,
    "sct_offered": SCT_OFFERED,
    "age_group": AGE_GROUP,
    "contact_type": CONTACT_TYPE,
    "respondent": RESPONDENT,
}

#: Swedish names of the breakdowns themselves, for headings.
BREAKDOWN_NAMES: dict[str, str] = {
    "total": "Totalt",
    "home_region": "Hemregion",
    "sex": "Kön",
    "sct_offered": "Erbjuden SCT",
    "age_group": "Åldersgrupp",
    "contact_type": "Typ av åtgärd",
    "respondent": "Svarande",
}

LEVEL_NAMES: dict[str, str] = {"riket": "Riket", "enhet": "NHV-enhet"}

MEASURE_NAMES: dict[str, str] = {
    "count": "Antal",
    "distribution": "Fördelning",
    "proportion": "Andel",
    "response_rate": "Svarsfrekvens",
    "positive_share": "Andel positiva svar",
}


def breakdown_label(breakdown: str, value: str) -> str:
    """The Swedish display text of one breakdown value.

    An unknown value cannot pass validation; it raises rather than publishing
    a raw code (the message names the breakdown only, never row data).
    """
    try:
        return BREAKDOWN_LABELS[breakdown][value]
    except KeyError:
        raise KeyError(f"no Swedish label for a value of breakdown {breakdown!r}") from None
