"""Swedish labels of the skeletal_dysplasia breakdowns (PUBLICATION.md section 2, `breakdown_label`)."""

BREAKDOWN_LABELS = {
    "age_group": {"child": "Barn (0–17 år)", "adult": "Vuxna (18 år och äldre)"},
    "contact_type": {"mdk": "Bedömning på MDK", "new_visit": "Nybesök", "treatment_conference": "Behandlingskonferens"},
    "respondent": {"patient": "Patienter (vuxna)", "relative": "Närstående till barn"},
}
BREAKDOWN_NAMES = {"age_group": "Åldersgrupp", "contact_type": "Typ av åtgärd", "respondent": "Svarande"}
