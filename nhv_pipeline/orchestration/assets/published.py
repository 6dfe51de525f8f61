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
from typing import TYPE_CHECKING

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
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

from nhv_pipeline.orchestration.assets.indicators import submitting_units
from nhv_pipeline.orchestration.assets.raw import delivery_key
from nhv_pipeline.orchestration.assets.units import OWNERS, REGISTRY_KEY, registry_frame
from nhv_pipeline.orchestration.assets.results import RESULTS_KEY
from nhv_pipeline.conditions import registered
from nhv_pipeline.contract.delivery import stray_entries
from nhv_pipeline.contract.rules import UNKNOWN_CONDITION
from nhv_pipeline.indicators import catalogue_entries, catalogue_for, make_catalogue, units_not_followed_up
from nhv_pipeline.core.markdown import frame_to_markdown
from nhv_pipeline.orchestration.partitions import delivery_window, report_year_partitions, report_years_from
# The publication package (its audit loads SciPy) is imported by the step, not when the
# definitions load: `dagster dev`, the daemon and every CLI command load them.
if TYPE_CHECKING:
    from nhv_pipeline.publication.audit import AuditReport
    from nhv_pipeline.publication.parts import Part
from nhv_pipeline.orchestration.resources import WAREHOUSE_POOL, PipelinePaths, Warehouse, exclusive_lock, read_rows, table_name
from nhv_pipeline.submission.intake import unit_deliveries
from nhv_pipeline.orchestration.settings import NhvSettings
from nhv_pipeline.orchestration.verdicts import verdicts_of, why_not_replaced

PUBLISHED_RESULTS_KEY = AssetKey(["published", "indicator_results"])
PUBLICATION_KEY = AssetKey(["published", "publication"])


def _project_version() -> str:
    try:
        return version("nhv-pipeline")
    except PackageNotFoundError:
        return "unknown"


AUDIT_CHECK = "disclosure_audit"


def audit_context(report_year: int, earlier_results: pd.DataFrame, earlier_published: pd.DataFrame) -> pd.DataFrame:
    """Earlier years' rows an equal population across years ties to this year (e.g. B3 of R-2 for R2).

    Their true figures (``results``) with the ``suppressed`` mark they were published with. A
    (year, condition) whose stored results no longer match its published part is left out.
    """
    from nhv_pipeline.publication.audit import equal_populations_of
    from nhv_pipeline.publication.columns import PRIMARY_KEY

    if earlier_results.empty or earlier_published.empty:
        return pd.DataFrame()
    wanted = {
        (report_year - eq.year_lag, eq.condition_id, eq.other_indicator_id, eq.other_measure)
        for eq in equal_populations_of(registered())
        if eq.year_lag > 0
    }
    keys = list(zip(earlier_results["report_year"].astype(int), earlier_results["condition_id"],
                    earlier_results["indicator_id"], earlier_results["measure"]))
    rows = earlier_results[[k in wanted for k in keys]].drop(columns=["suppressed"], errors="ignore")
    if rows.empty:
        return pd.DataFrame()
    marks = earlier_published[PRIMARY_KEY + ["suppressed", "n"]].rename(columns={"n": "published_n"})
    for frame in (rows, marks):
        frame["unit_id"] = frame["unit_id"].fillna("").astype(str)
        frame["report_year"] = frame["report_year"].astype("int64")
    merged = rows.merge(marks, on=PRIMARY_KEY, how="inner")
    # A year whose stored results no longer match its publication (a re-run that stopped before
    # publishing) tells nothing reliable about what readers have: it is left out.
    published_n = pd.to_numeric(merged["published_n"]).astype("Float64")
    true_n = pd.to_numeric(merged["n"]).astype("Float64")
    # Per condition: a condition whose part of that year was kept from an earlier run may differ alone.
    differs = (~merged["suppressed"].astype(bool) & (published_n != true_n).fillna(True)).groupby(
        [merged["report_year"], merged["condition_id"]]
    ).any()
    keys = pd.MultiIndex.from_arrays([merged["report_year"], merged["condition_id"]])
    keep = keys.isin(differs[~differs].index)
    return merged[keep].drop(columns=["published_n"]).reset_index(drop=True)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 2)


def audit_metadata(audit: "AuditReport") -> dict:
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
        "breakdowns_withheld": MetadataValue.json(audit.withheld_breakdowns[:40]),
    }


def published_metadata(published: pd.DataFrame, threshold: int, extra_suppressed: int) -> dict:
    """Metadata of the published results: counts and the national figures (published ones only)."""
    suppressed = published[published["suppressed"]]
    by_reason = {str(k): int(v) for k, v in suppressed.groupby("suppression_reason").size().items()}
    national = published[(published["level"] == "riket") & (published["breakdown"] == "total")]
    return {
        "row_count": len(published),
        "suppressed_count": len(suppressed),
        "suppressed_by_reason": MetadataValue.json(by_reason),
        "threshold": threshold,
        "audit_extra_cells_suppressed": extra_suppressed,
        "national_figures": MetadataValue.md(
            frame_to_markdown(
                national,
                ["condition_id", "indicator_id", "measure", "n", "value", "ci_low", "ci_high", "suppressed"],
                limit=40,
            )
        ),
    }


def part_check_name(condition_id: str) -> str:
    """The check on `published/publication` that says what became of one condition's part of the year."""
    return f"part_{condition_id}"


def publish_asset():
    """The published layer over every registered condition's deliveries (for the manifest)."""
    oldest = min(spec.offsets[0] for indicator in make_catalogue(registered()) for spec in indicator.inputs)
    # Dependencies, not inputs: the step reads each condition's inventories of the window itself, on the
    # run's connection (an input each would cost a load and two Dagster events per condition and year).
    delivery_deps = {
        f"{condition.condition_id}_deliveries": AssetDep(
            delivery_key(condition.condition_id),
            partition_mapping=delivery_window(
                report_years_from(condition.first_report_year), report_year_partitions, oldest, 0
            ),
        )
        for condition in registered()
    }

    @multi_asset(
        name="publish",
        pool=WAREHOUSE_POOL,
        ins={"results": AssetIn(key=RESULTS_KEY)},
        deps=list(delivery_deps.values()),
        outs={
            "indicator_results": AssetOut(
                key=PUBLISHED_RESULTS_KEY,
                is_required=False,  # not materialized when no condition's part was replaced
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
                is_required=False,
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
                "indicator_catalogue.json, manifest.json (provenance, with the SHA-256 of every file, and what "
                "became of each condition's part) and index.html, the preview page publishers check before the "
                "tables go to the website. Replaced as a whole, holding the new part of every condition that "
                "passed and the kept part of every condition that failed; expected by 30 April.",
            ),
        },
        internal_asset_deps={
            "indicator_results": {RESULTS_KEY},
            "publication": {PUBLISHED_RESULTS_KEY, *(dep.asset_key for dep in delivery_deps.values())},
        },
        check_specs=[
            AssetCheckSpec(
                AUDIT_CHECK,
                asset=PUBLISHED_RESULTS_KEY,
                description="PUBLICATION.md section 3 audit, per condition: for every suppressed cell, the range "
                "of values consistent with everything published (additive relations, n >= 0, equal populations) "
                "is at least as wide as the threshold; where suppressing more cells cannot meet it, the "
                "breakdown is withheld as a whole. A condition whose audit still cannot be met keeps its "
                "previous part (see its check part_<condition>); the others are published.",
                partitions_def=report_year_partitions,
            ),
            *(
                AssetCheckSpec(
                    part_check_name(condition.condition_id),
                    asset=PUBLICATION_KEY,
                    description=f"{condition.name}: whether its part of the report year's publication was "
                    "replaced (passed), or kept from the previous publication or withheld because one of its "
                    "checks failed or an indicator was not computed (failed; the metadata says which and why). "
                    "PUBLICATION.md, top.",
                    partitions_def=report_year_partitions,
                )
                for condition in registered()
            ),
        ],
        partitions_def=report_year_partitions,
    )
    def publish(
        context: AssetExecutionContext,
        paths: PipelinePaths,
        warehouse: Warehouse,
        settings: NhvSettings,
        results: pd.DataFrame,
    ):
        # The inventories of D(R+oldest)..D(R); a year before a condition began has no rows.
        report_year = int(context.partition_key)
        years = list(range(report_year + oldest, report_year + 1))
        with warehouse.connection() as con:
            deliveries = {
                name: read_rows(con, *table_name(dep.asset_key.path), years) for name, dep in delivery_deps.items()
            }
        yield from _publish(context, paths, warehouse, settings.suppression_threshold, results, deliveries)

    return publish


def _publish(
    context: AssetExecutionContext, paths: PipelinePaths, warehouse: Warehouse, threshold: int, results: pd.DataFrame, deliveries: dict
):
    """Each condition's part replaced only when it passed (PUBLICATION.md, top); the folder swapped as a whole."""
    from nhv_pipeline.publication.export import published_years, read_results
    from nhv_pipeline.publication.swap import make_published_root
    from nhv_pipeline.publication.parts import UPDATED, assemble, merged_audit, with_reasons

    report_year = int(context.partition_key)
    with warehouse.connection() as con:
        earlier = read_rows(con, "published", "indicator_results", list(range(2000, report_year)))
        earlier_results = read_rows(con, "results", "indicator_results", list(range(2000, report_year)))
        stored = read_rows(con, "published", "indicator_results", [report_year])
        units = registry_frame(read_rows(con, *table_name(REGISTRY_KEY.path), [report_year]))
    # INDICATORS.md 1: a unit whose permit ended is no longer followed up; one line each, in log and manifest.
    not_followed = [
        note
        for condition in registered()
        for note in units_not_followed_up(condition, units, report_year, catalogue_for(registered(), report_year))
    ]
    for note in not_followed:
        context.log.info(note["note"])
    verdicts = verdicts_of(warehouse, report_year)
    conditions = [c for c in registered() if c.first_report_year <= report_year]
    not_replaced = {
        c.condition_id: why_not_replaced(
            verdicts, c.condition_id, [i for i in c.indicator_ids if c.first_report_year_of(i) <= report_year]
        )
        for c in conditions
    }
    target = paths.published_dir / str(report_year)
    make_published_root(paths.published_dir)  # 0755 before its lock file is made in it
    # Two runs of the same report year (the schedule and a manual re-run) swap one at a time; the
    # previous publication whose parts may be kept is read under the same lock.
    with exclusive_lock(paths.published_dir / f".{report_year}.lock", f"The publication of {report_year}"):
        previous = with_reasons(read_results(target), stored) if report_year in published_years(paths.published_dir) else pd.DataFrame()
        published, parts = assemble(
            conditions,
            results, previous, not_replaced, threshold,
            context=audit_context(report_year, earlier_results, earlier), progress=context.log.info,
        )
        audit = merged_audit(parts, threshold)
        context.log.info(
            "Disclosure audit of %s: %d suppressed cells audited, %d suppressed beyond the primary and secondary "
            "rules, %s.", report_year, audit.cells_audited, audit.extra_suppressed,
            "every range at least the threshold" if audit.passed else f"{len(audit.unmet)} cells not protected",
        )
        updated = [p for p in parts if p.status == UPDATED]
        if updated:
            yield Output(published, output_name="indicator_results",
                         metadata=published_metadata(published, threshold, audit.extra_suppressed))
        yield AssetCheckResult(
            asset_key=PUBLISHED_RESULTS_KEY,
            check_name=AUDIT_CHECK,
            passed=audit.passed,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                **audit_metadata(audit),
                "audit_by_condition": MetadataValue.json({
                    p.condition_id: "met" if p.audit.passed else f"not met: {len(p.audit.unmet)} cells"
                    for p in parts if p.audit is not None
                }),
            },
        )
        if updated:
            yield _write_publication(
                context, paths, warehouse, report_year, threshold, published, parts, deliveries, earlier, not_followed
            )
    for condition in registered():
        yield _part_check(report_year, condition, next((p for p in parts if p.condition_id == condition.condition_id), None))
    failed = [p for p in parts if p.status != UPDATED]
    for part in failed:
        context.log.error("Report year %s, %s: part %s: %s.", report_year, part.condition_id, part.status, part.reason)
    if failed:
        raise Failure(
            description=f"Report year {report_year}: "
            + "; ".join(f"{p.condition_id} {_status_words(p)}: {p.reason}" for p in failed)
            + (
                f". The parts of {', '.join(p.condition_id for p in updated)} were replaced."
                if updated else ". No part was replaced: the publication stays as it was."
            ),
            metadata={"conditions": MetadataValue.md(_parts_markdown(parts))},
        )


def _status_words(part: "Part") -> str:
    from nhv_pipeline.publication.parts import KEPT, WITHHELD

    return {KEPT: "kept its previous part", WITHHELD: "has no part (none published before)"}.get(part.status, part.status)


def _parts_markdown(parts: "list[Part]") -> str:
    frame = pd.DataFrame([{"condition_id": p.condition_id, "part": p.status, "why": p.reason} for p in parts])
    return frame_to_markdown(frame, ["condition_id", "part", "why"]) if len(frame) else "No condition has this report year."


def _part_check(report_year: int, condition, part: "Part | None") -> AssetCheckResult:
    """What became of one condition's part, as a check the operator reads per report year."""
    from nhv_pipeline.publication.parts import UPDATED

    if part is None:
        return AssetCheckResult(
            asset_key=PUBLICATION_KEY, check_name=part_check_name(condition.condition_id), passed=True,
            metadata={"part": "none", "why": f"the condition begins in report year {condition.first_report_year}"},
        )
    return AssetCheckResult(
        asset_key=PUBLICATION_KEY,
        check_name=part_check_name(condition.condition_id),
        passed=part.status == UPDATED,
        severity=AssetCheckSeverity.ERROR,
        metadata={"part": part.status, "why": part.reason or "every check passed; the part was replaced"},
    )


def _write_publication(
    context, paths, warehouse: Warehouse, report_year: int, threshold: int, published: pd.DataFrame,
    parts: "list[Part]", deliveries: dict, earlier: pd.DataFrame, not_followed: list[dict],
) -> Output:
    """Write the folder in a staging folder and swap it in as a whole (the caller holds the year's lock)."""
    from nhv_pipeline.publication import publish_folder, render_preview, write_results
    from nhv_pipeline.publication.aggregated import mark_catalogue
    from nhv_pipeline.publication.datapackage import CATALOGUE_FILE, write_datapackage
    from nhv_pipeline.publication.history import carry_history
    from nhv_pipeline.publication.manifest import (
        MANIFEST_FILE, build_manifest, raw_file_entries, raw_files_of_parts, unit_delivery_entries,
    )
    from nhv_pipeline.publication.parts import KEPT, UPDATED, WITHHELD

    inventories = pd.concat(
        [frame.assign(condition_id=name.removesuffix("_deliveries")) for name, frame in deliveries.items() if len(frame)],
        ignore_index=True,
    ) if any(len(f) for f in deliveries.values()) else pd.DataFrame()
    raw_files = raw_file_entries(report_year, inventories, catalogue_for(registered(), report_year), paths.data_root)
    target = paths.published_dir / str(report_year)
    if any(p.status != UPDATED for p in parts):
        # What the folder publishes: a kept part was made from the files its own publication read.
        previous = json.loads((target / MANIFEST_FILE).read_text(encoding="utf-8")) if (target / MANIFEST_FILE).is_file() else {}
        raw_files = raw_files_of_parts(
            raw_files, previous.get("raw_files", []),
            kept={p.condition_id for p in parts if p.status == KEPT},
            absent={p.condition_id for p in parts if p.status == WITHHELD},
        )
    history = {int(year): frame for year, frame in earlier.groupby("report_year")} if len(earlier) else {}
    now = datetime.now(timezone.utc)
    published_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    project_version = _project_version()
    in_force = catalogue_for(registered(), report_year)
    with warehouse.connection() as con:
        submitting = submitting_units(con, report_year)
    catalogue = mark_catalogue(catalogue_entries(in_force), in_force, submitting, report_year)
    with publish_folder(paths.published_dir, report_year) as staging:
        write_results(published, staging)
        (staging / CATALOGUE_FILE).write_text(
            json.dumps(catalogue, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        changes = carry_history(target, staging)
        (staging / "index.html").write_text(
            render_preview(
                report_year, published, history, catalogue, now.strftime("%Y-%m-%d %H:%M UTC"),
                threshold=threshold, conditions=registered(),
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
            conditions={p.condition_id: p.manifest_entry() for p in parts},
        )
        if not_followed:
            manifest["units_not_followed_up"] = not_followed
        strays = stray_entries(paths.data_root, report_year, registered())
        if strays:  # they fail the run (the delivery checks), no condition's part
            manifest["run_failed_because"] = [
                f"{where}: {UNKNOWN_CONDITION}: no registered condition's folder; every condition's part was "
                "published on its own checks. Move it out of the data root, or rename it to its condition's id."
                for where in strays
            ]
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
    return Output(
        None,
        output_name="publication",
        metadata={
            **correction,
            "conditions": MetadataValue.md(_parts_markdown(parts)),
            "folder": MetadataValue.path(str(target)),
            "files": MetadataValue.json(sorted(p.name for p in target.iterdir())),
            "row_count": len(published),
            "suppressed_count": int(published["suppressed"].sum()),
            "raw_files": len(raw_files),
            "preview": MetadataValue.path(str(target / "index.html")),
        },
    )
