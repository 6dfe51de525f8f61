"""Publication: disclosure control, the published files and the preview page (PUBLICATION.md).

Plain functions over pandas frames, no Dagster: the assets call them in the order

    published, audit = protect(results, threshold)  # suppress(), then the audit
    published = format_results(published)
    with publish_folder(published_root, report_year) as staging:
        write_results(published, staging)
        (staging / "index.html").write_text(render_preview(...), encoding="utf-8")
"""

from .audit import REASON_AUDIT, AuditReport, EqualPopulation, equal_populations_of, protect
from .disclosure import (
    DEFAULT_THRESHOLD,
    REASON_PRIMARY,
    REASON_SECONDARY,
    WITHHELD_COLUMNS,
    suppress,
)
from .columns import COLUMNS, PUBLISHED_COLUMNS, RESULT_COLUMNS, table_schema
from .export import (
    format_results,
    load_history,
    published_years,
    read_results,
    round_half_away,
    sort_results,
    write_results,
)
from .preview import render_preview
from .swap import publish_folder, recover_publications

__all__ = [
    "equal_populations_of",
    "REASON_AUDIT",
    "AuditReport",
    "EqualPopulation",
    "protect",
    "DEFAULT_THRESHOLD",
    "REASON_PRIMARY",
    "REASON_SECONDARY",
    "COLUMNS",
    "PUBLISHED_COLUMNS",
    "RESULT_COLUMNS",
    "WITHHELD_COLUMNS",
    "format_results",
    "load_history",
    "publish_folder",
    "published_years",
    "read_results",
    "recover_publications",
    "render_preview",
    "round_half_away",
    "sort_results",
    "suppress",
    "table_schema",
    "write_results",
]
