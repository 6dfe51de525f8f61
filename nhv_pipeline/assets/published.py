"""Published layer: what publishers pull and the website draws (PUBLICATION.md).

`published/indicator_results` is the report year's results after disclosure
control; `published/publication` writes the folder
`<warehouse>/published/<report_year>/` as a whole (results as CSV, Parquet and
JSON, the catalogue, the manifest and the preview page), swapped in only when
complete, so a failed run leaves the last good publication in place.
"""


import json
from datetime import datetime, timedelta, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    Failure,
    FreshnessPolicy,
    MetadataValue,
    Nothing,
    Output,
    multi_asset,
)

from nhv_pipeline.assets.indicators import submitting_units
from nhv_pipeline.assets.raw import delivery_key
from nhv_pipeline.assets.registry import OWNERS, REGISTRY_KEY, registry_frame
from nhv_pipeline.assets.results import RESULTS_KEY
from nhv_pipeline.condition import registered
from nhv_pipeline.indicators import catalogue_entries, catalogue_for, make_catalogue, units_not_followed_up
from nhv_pipeline.markdown import frame_to_markdown
from nhv_pipeline.partitions import delivery_window, report_year_partitions
from nhv_pipeline.publication import format_results, publish_folder, render_preview, write_results
from nhv_pipeline.publication.aggregated import mark_catalogue
from nhv_pipeline.publication.audit import AuditReport, protect, registered_equal_populations
from nhv_pipeline.publication.datapackage import CATALOGUE_FILE, write_datapackage
from nhv_pipeline.publication.export import make_published_root
from nhv_pipeline.publication.history import carry_history
from nhv_pipeline.publication.manifest import MANIFEST_FILE, build_manifest, raw_file_entries, unit_delivery_entries
from nhv_pipeline.resources import WAREHOUSE_POOL, PipelinePaths, Warehouse, exclusive_lock, read_rows, table_name
from nhv_pipeline.submission.intake import unit_deliveries
from nhv_pipeline.settings import NhvSettings

PUBLISHED_RESULTS_KEY = AssetKey(["published", "indicator_results"])
PUBLICATION_KEY = AssetKey(["published", "publication"])


def _project_version() -> str:
    try:
        return version("nhv-pipeline")
    except PackageNotFoundError:
        return "unknown"


AUDIT_CHECK = "disclosure_audit"
_KEY_COLUMNS = ["report_year", "condition_id", "indicator_id", "measure", "level", "unit_id", "breakdown",
                "breakdown_value"]


def audit_context(report_year: int, earlier_results: pd.DataFrame, earlier_published: pd.DataFrame) -> pd.DataFrame:
    """Earlier years' rows an equal population across years ties to this year (e.g. B3 of R-2 for R2).

    Their true figures (``results``) with the ``suppressed`` mark they were published with.
    """
    if earlier_results.empty or earlier_published.empty:
        return pd.DataFrame()
    wanted = {
        (report_year - eq.year_lag, eq.condition_id, eq.other_indicator_id, eq.other_measure)
        for eq in registered_equal_populations()
        if eq.year_lag > 0
    }
    keys = list(zip(earlier_results["report_year"].astype(int), earlier_results["condition_id"],
                    earlier_results["indicator_id"], earlier_results["measure"]))
    rows = earlier_results[[k in wanted for k in keys]].drop(columns=["suppressed"], errors="ignore")
    if rows.empty:
        return pd.DataFrame()
    marks = earlier_published[_KEY_COLUMNS + ["suppressed", "n"]].rename(columns={"n": "published_n"})
    for frame in (rows, marks):
        frame["unit_id"] = frame["unit_id"].fillna("").astype(str)
        frame["report_year"] = frame["report_year"].astype("int64")
    merged = rows.merge(marks, on=_KEY_COLUMNS, how="inner")
    # A year whose stored results no longer match its publication (a re-run that stopped before
    # publishing) tells nothing reliable about what readers have: it is left out.
    published_n = pd.to_numeric(merged["published_n"]).astype("Float64")
    true_n = pd.to_numeric(merged["n"]).astype("Float64")
    differs = (~merged["suppressed"].astype(bool) & (published_n != true_n).fillna(True)).groupby(merged["report_year"]).any()
    keep = merged["report_year"].isin(differs[~differs].index)
    return merged[keep].drop(columns=["published_n"]).reset_index(drop=True)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 2)


def audit_metadata(audit: AuditReport) -> dict:
    """Check metadata: counts and widths only, never a withheld figure."""
    return {
        "threshold": audit.threshold,
        "cells_audited": audit.cells_audited,
        "extra_cells_suppressed": audit.extra_suppressed,
        "rounds": audit.rounds,
        # A whole number of persons where it is one (an int in the UI); -1 when no withheld cell is bounded.
        "narrowest_range": _number(audit.narrowest_range) if audit.narrowest_range != float("inf") else -1,
        "already_public": audit.already_public,
        "cells_not_protected": MetadataValue.json(audit.unmet[:40]),
    }


def publish_results(
    results: pd.DataFrame, threshold: int, audit_rows: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, dict, AuditReport]:
    """Disclosure control with its audit, rounding and sorting (PUBLICATION.md sections 2-3), with metadata."""
    protected, audit = protect(results, threshold=threshold, context=audit_rows)
    published = format_results(protected)
    suppressed = published[published["suppressed"]]
    by_reason = {str(k): int(v) for k, v in suppressed.groupby("suppression_reason").size().items()}
    suppressed = published[published["suppressed"]]
    national = published[(published["level"] == "riket") & (published["breakdown"] == "total")]
    return published, {
        "row_count": len(published),
        "suppressed_count": len(suppressed),
        "suppressed_by_reason": MetadataValue.json(by_reason),
        "threshold": threshold,
        "audit_extra_cells_suppressed": audit.extra_suppressed,
        "national_figures": MetadataValue.md(
            frame_to_markdown(
                national,
                ["condition_id", "indicator_id", "measure", "n", "value", "ci_low", "ci_high", "suppressed"],
                limit=40,
            )
        ),
    }, audit


def publish_asset():
    """The published layer over every registered condition's deliveries (for the manifest)."""
    oldest = min(spec.offsets[0] for indicator in make_catalogue() for spec in indicator.inputs)
    delivery_ins = {
        f"{condition.condition_id}_deliveries": AssetIn(
            key=delivery_key(condition.condition_id), partition_mapping=delivery_window(oldest, 0)
        )
        for condition in registered()
    }

    @multi_asset(
        name="publish",
        pool=WAREHOUSE_POOL,
        ins={"results": AssetIn(key=RESULTS_KEY), **delivery_ins},
        outs={
            "indicator_results": AssetOut(
                key=PUBLISHED_RESULTS_KEY,
                group_name="published",
                kinds={"pandas", "duckdb"},
                owners=OWNERS,
                tags={"layer": "published"},
                description="The report year's indicator results as they are published: disclosure control "
                "applied (rows with 1 ≤ n < threshold withheld, and complementary cells so no withheld figure "
                "can be recovered from a total), rounded and sorted per PUBLICATION.md section 2.",
            ),
            "publication": AssetOut(
                key=PUBLICATION_KEY,
                dagster_type=Nothing,
                group_name="published",
                kinds={"csv", "parquet", "json", "html"},
                owners=OWNERS,
                tags={"layer": "published"},
                freshness_policy=FreshnessPolicy.cron(
                    deadline_cron="0 0 30 4 *", lower_bound_delta=timedelta(days=60), timezone="Europe/Stockholm"
                ),
                description="The publication folder of the report year, `published/<report_year>/`: "
                "indicator_results as CSV, Parquet and JSON, datapackage.json (Frictionless Data Package), "
                "indicator_catalogue.json, manifest.json (provenance, with the SHA-256 of every file) and index.html, the preview page publishers check before the tables go to the "
                "website. Replaced as a whole; expected by 30 April.",
            ),
        },
        internal_asset_deps={
            "indicator_results": {RESULTS_KEY},
            "publication": {PUBLISHED_RESULTS_KEY, *(spec.key for spec in delivery_ins.values())},
        },
        check_specs=[
            AssetCheckSpec(
                AUDIT_CHECK,
                asset=PUBLISHED_RESULTS_KEY,
                blocking=True,
                description="PUBLICATION.md section 3 audit: for every suppressed cell, the range of values "
                "consistent with everything published (additive relations, n >= 0, equal populations) is at "
                "least as wide as the threshold. When it cannot be met nothing is published.",
                partitions_def=report_year_partitions,
            )
        ],
        partitions_def=report_year_partitions,
    )
    def publish(
        context: AssetExecutionContext,
        paths: PipelinePaths,
        warehouse: Warehouse,
        settings: NhvSettings,
        results: pd.DataFrame,
        **deliveries,
    ):
        yield from _publish(context, paths, warehouse, settings.suppression_threshold, results, deliveries)

    return publish


def _publish(
    context: AssetExecutionContext, paths: PipelinePaths, warehouse: Warehouse, threshold: int, results: pd.DataFrame, deliveries: dict
):
    report_year = int(context.partition_key)
    with warehouse.connection() as con:
        earlier = read_rows(con, "published", "indicator_results", list(range(2000, report_year)))
        earlier_results = read_rows(con, "results", "indicator_results", list(range(2000, report_year)))
        units = registry_frame(read_rows(con, *table_name(REGISTRY_KEY.path), [report_year]))
    # INDICATORS.md 1: a unit whose permit ended is no longer followed up; one line each, in log and manifest.
    not_followed = [
        note
        for condition in registered()
        for note in units_not_followed_up(condition.condition_id, units, report_year, catalogue_for(report_year))
    ]
    for note in not_followed:
        context.log.info(note["note"])
    published, metadata, audit = publish_results(
        results, threshold, audit_context(report_year, earlier_results, earlier)
    )
    context.log.info(
        "Disclosure audit of %s: %d suppressed cells audited, %d suppressed beyond the primary and secondary "
        "rules, %s.", report_year, audit.cells_audited, audit.extra_suppressed,
        "every range at least the threshold" if audit.passed else f"{len(audit.unmet)} cells not protected",
    )
    audit_check = AssetCheckResult(
        asset_key=PUBLISHED_RESULTS_KEY,
        check_name=AUDIT_CHECK,
        passed=audit.passed,
        severity=AssetCheckSeverity.ERROR,
        metadata=audit_metadata(audit),
    )
    if not audit.passed:
        yield audit_check
        raise Failure(
            f"The disclosure audit of report year {report_year} cannot be met: {len(audit.unmet)} suppressed "
            f"cells stay narrower than the threshold after {audit.rounds} rounds of extra suppression; nothing was "
            "published.",
            metadata=audit_metadata(audit),
        )
    yield Output(published, output_name="indicator_results", metadata=metadata)
    yield audit_check

    inventories = pd.concat(
        [frame.assign(condition_id=name.removesuffix("_deliveries")) for name, frame in deliveries.items() if len(frame)],
        ignore_index=True,
    ) if any(len(f) for f in deliveries.values()) else pd.DataFrame()
    raw_files = raw_file_entries(report_year, inventories, catalogue_for(report_year), paths.data_root)
    history = {int(year): frame for year, frame in earlier.groupby("report_year")} if len(earlier) else {}
    now = datetime.now(timezone.utc)
    published_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    project_version = _project_version()
    in_force = catalogue_for(report_year)
    with warehouse.connection() as con:
        submitting = submitting_units(con, report_year)
    catalogue = mark_catalogue(catalogue_entries(in_force), in_force, submitting, report_year)
    target = paths.published_dir / str(report_year)
    # Two runs of the same report year (the schedule and a manual re-run) swap one at a time.
    make_published_root(paths.published_dir)  # 0755 before its lock file is made in it
    with exclusive_lock(paths.published_dir / f".{report_year}.lock", f"The publication of {report_year}"), \
            publish_folder(paths.published_dir, report_year) as staging:
        write_results(published, staging)
        (staging / CATALOGUE_FILE).write_text(
            json.dumps(catalogue, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        changes = carry_history(target, staging)
        (staging / "index.html").write_text(
            render_preview(
                report_year, published, history, catalogue, now.strftime("%Y-%m-%d %H:%M UTC"),
                threshold=threshold,
            ),
            encoding="utf-8",
        )
        write_datapackage(staging, report_year, project_version, published_at)
        # Last: the manifest lists the size and SHA-256 of every other file of the folder.
        manifest = build_manifest(
            report_year=report_year,
            published_at_utc=published_at,
            run_id=context.run_id,
            project_version=project_version,
            suppression_threshold=threshold,
            catalogue_entries=catalogue,
            raw_files=raw_files,
            folder=staging,
            unit_deliveries=unit_delivery_entries(
                {c.condition_id: unit_deliveries(paths.data_root, report_year, c) for c in registered()}
            ),
        )
        if not_followed:
            manifest["units_not_followed_up"] = not_followed
        (staging / MANIFEST_FILE).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    context.log.info("Published report year %s to %s (%d rows).", report_year, target, len(published))
    correction = {}
    if changes is not None:
        context.log.info(
            "Report year %s replaced an earlier publication: %d published figures changed; the previous one is "
            "kept under %s.", report_year, len(changes), target / "history",
        )
        correction = {
            "changed_figures": len(changes),
            "changes": MetadataValue.md(frame_to_markdown(changes, limit=40)),
        }
    yield Output(
        None,
        output_name="publication",
        metadata={
            **correction,
            "folder": MetadataValue.path(str(target)),
            "files": MetadataValue.json(sorted(p.name for p in target.iterdir())),
            "row_count": len(published),
            "suppressed_count": int(published["suppressed"].sum()),
            "raw_files": len(raw_files),
            "preview": MetadataValue.path(str(target / "index.html")),
        },
    )
