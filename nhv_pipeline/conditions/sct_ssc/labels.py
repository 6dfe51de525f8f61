"""Swedish labels of the sct_ssc breakdowns (PUBLICATION.md section 2, `breakdown_label`)."""

BREAKDOWN_LABELS = {"sct_offered": {"yes": "Erbjuden SCT", "no": "Ej erbjuden SCT"}}
#: Headings name the breakdown in full; its values keep the short "Erbjuden SCT" of PUBLICATION.md 2.
BREAKDOWN_NAMES = {"sct_offered": "Erbjuden stamcellstransplantation"}
