"""Swedish labels of the sct_ssc breakdowns (PUBLICATION.md section 2, `breakdown_label`)."""

BREAKDOWN_LABELS = {"sct_offered": {"yes": "Erbjuden SCT", "no": "Ej erbjuden SCT"}}
BREAKDOWN_NAMES = {"sct_offered": "Erbjuden SCT"}
