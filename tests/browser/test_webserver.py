"""The Dagster webserver over the instance of a full pipeline run: GraphQL and the asset graph page.

What operations rely on (`make ui`): the code location loads in the
webserver, the whole asset graph is there with the report-year lags of
INDICATORS.md as partition mappings, and the runs of `nhv-pipeline run --all`
are visible. Served on 127.0.0.1 only; the test stops the server and its code
server in teardown.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from nhv_pipeline.conditions import registered
from nhv_pipeline.indicators import make_catalogue
from tests.browser import ARTIFACTS, REPO_ROOT, headless_chromium

CATALOGUE = make_catalogue(registered())

STARTUP_TIMEOUT = 90
SCREENSHOT = ARTIFACTS / "asset-graph.png"

#: DATA_CONTRACT.md sections 4 and 5: the tables each condition delivers.
TABLES = {
    "sct_ssc": ("patients", "referrals", "transplants", "survey", "followup"),
    "skeletal_dysplasia": ("patients", "referrals", "contacts", "survey"),
}
GROUPS = ("registry", "raw", "staged", "indicators", "published")

#: Loopback only: proxies from the environment must not see these requests.
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def asset_key(indicator) -> str:
    """`results/<condition>/<indicator>`; Dagster keys are ASCII, so Ö1 is O1."""
    return f"results/{indicator.condition_id}/{indicator.indicator_id.replace('Ö', 'O')}"


def expected_groups() -> dict[str, str]:
    """Asset key -> group, as the operations issue lists them."""
    from nhv_pipeline.conditions import registered

    groups = {"registry/units": "registry", "results/indicator_results": "indicators"}
    declared = {condition.condition_id: condition.table_names for condition in registered()}
    assert {c: declared[c] for c in TABLES} == TABLES, "the shipped areas' tables"
    for condition, tables in declared.items():  # and those of any other registered area
        groups[f"raw/{condition}/delivery"] = "raw"
        groups[f"raw/{condition}/submission"] = "raw"  # the units' own figures (SUBMISSION.md)
        groups[f"staged/{condition}/submission"] = "staged"
        for table in tables:
            groups[f"raw/{condition}/{table}"] = "raw"
            groups[f"staged/{condition}/{table}"] = "staged"
    groups.update({asset_key(i): "indicators" for i in CATALOGUE})
    groups.update({"published/indicator_results": "published", "published/publication": "published"})
    return groups


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with LOCAL.open(request, timeout=30) as response:
        body = json.load(response)
    assert "errors" not in body, body["errors"]
    return body["data"]


def instance_folder(tmp: Path, dagster_home: Path) -> Path:
    """A DAGSTER_HOME whose dagster.yaml reads and writes the full run's storage, telemetry and nux off.

    Same storage layout as a bare DAGSTER_HOME (runs, event logs, schedules,
    artifacts, compute logs all under the full run's folder), so the
    webserver sees exactly the instance `nhv-pipeline run --all` wrote. Turning
    telemetry off keeps the UI from loading dagster.io's telemetry script (the
    machine has no network), and nux off keeps the "Join the community" dialog
    from covering the graph.
    """
    home = str(dagster_home)
    config = {
        "storage": {"sqlite": {"base_dir": home}},
        "local_artifact_storage": {
            "module": "dagster._core.storage.root",
            "class": "LocalArtifactStorage",
            "config": {"base_dir": home},
        },
        "compute_logs": {
            "module": "dagster._core.storage.local_compute_log_manager",
            "class": "LocalComputeLogManager",
            "config": {"base_dir": str(dagster_home / "storage")},
        },
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
    }
    folder = tmp / "webserver_home"
    folder.mkdir()
    (folder / "dagster.yaml").write_text(json.dumps(config, indent=2) + "\n")  # JSON is YAML
    return folder


def wait_until_loaded(base: str, process: subprocess.Popen, log: Path) -> None:
    """Bounded wait: the server answers /server_info, then the code location has loaded."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"dagster-webserver exited:\n{log.read_text()[-3000:]}"
        try:
            with LOCAL.open(f"{base}/server_info", timeout=5) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    else:
        pytest.fail(f"dagster-webserver did not answer within {STARTUP_TIMEOUT} s:\n{log.read_text()[-3000:]}")
    query = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
        name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
    while time.monotonic() < deadline:
        entries = graphql(base, query)["workspaceOrError"]["locationEntries"]
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            errors = [e["locationOrLoadError"] for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
            assert not errors, errors
            return
        time.sleep(0.5)
    pytest.fail(f"the code location did not load within {STARTUP_TIMEOUT} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def webserver(full_run, tmp_path_factory) -> Iterator[str]:
    """`dagster-webserver` on a free loopback port over the full run's instance; its base URL."""
    workspace, completed = full_run
    assert completed.returncode == 0, f"`nhv-pipeline run --all` failed:\n{completed.stderr[-3000:]}"
    tmp = tmp_path_factory.mktemp("webserver")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(instance_folder(tmp, workspace.dagster_home)),
        "NHV_DATA_RAW": str(workspace.data_raw),
        "NHV_WAREHOUSE_DIR": str(workspace.warehouse),
        "DAGSTER_DISABLE_TELEMETRY": "1",  # no telemetry upload thread either
    }
    log = tmp / "webserver.log"
    with log.open("w") as out:
        # cwd = the repository root: pyproject.toml [tool.dagster] names the code location.
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown stops the code server too
        )
    try:
        wait_until_loaded(base, process, log)
        yield base
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the webserver's process group, SIGKILL if it lingers."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


ASSET_NODES = """{ assetNodes {
    assetKey { path } groupName isPartitioned partitionKeysByDimension { partitionKeys }
    dependencies { asset { assetKey { path } } partitionMapping { className description } }
} }"""


@pytest.fixture(scope="module")
def asset_nodes(webserver) -> dict[str, dict]:
    nodes = graphql(webserver, ASSET_NODES)["assetNodes"]
    return {"/".join(n["assetKey"]["path"]): n for n in nodes}


def upstream(node: dict) -> dict[str, dict | None]:
    """Upstream key -> its partition mapping (None: same partition)."""
    return {"/".join(d["asset"]["assetKey"]["path"]): d["partitionMapping"] for d in node["dependencies"]}


def report_years(node: dict) -> list[str]:
    """The report years (partition keys) the UI lists for an asset."""
    return node["partitionKeysByDimension"][0]["partitionKeys"]


def years_read(mapping: dict | None, years: list[str]) -> dict[str, set[str]]:
    """Report year -> the upstream years it reads, as the UI describes the mapping (None: the same year).

    A report-year lag is a static mapping; its description ends with the upstream year -> report
    year(s) correspondence, which is what the operator reads on the asset page.
    """
    if mapping is None:
        return {year: {year} for year in years}
    assert mapping["className"] == "StaticPartitionMapping", mapping
    readers = ast.literal_eval(mapping["description"].split("following mapping:", 1)[1].strip())
    reads: dict[str, set[str]] = {year: set() for year in years}
    for delivery, targets in readers.items():
        for year in [targets] if isinstance(targets, str) else targets:
            reads[year].add(delivery)
    return reads


def test_asset_graph_holds_every_layer_and_every_indicator_in_their_groups(asset_nodes):
    expected = expected_groups()
    assert len([i for i in CATALOGUE if i.condition_id in ("sct_ssc", "skeletal_dysplasia")]) == 17, "the shipped areas' 17"
    assert sorted(asset_nodes) == sorted(expected)
    assert {k: n["groupName"] for k, n in asset_nodes.items()} == expected
    # Every layer is per report year (the partition key is the report year).
    assert all(n["isPartitioned"] for n in asset_nodes.values())


def test_r2_reads_transplants_two_report_years_back(asset_nodes):
    """INDICATORS.md: R2's cohort is the transplants of D(R-2); followup is this year's delivery."""
    node = asset_nodes["results/sct_ssc/R2"]
    deps = upstream(node)
    assert report_years(node)[0] == "2026"
    # The staged transplants of 2024 feed R2 of 2026, those of 2025 R2 of 2027, and so on.
    transplants = years_read(deps["staged/sct_ssc/transplants"], report_years(node))
    assert transplants == {year: {str(int(year) - 2)} for year in report_years(node)}
    assert transplants["2026"] == {"2024"}
    assert "staged/sct_ssc/followup" in deps
    assert years_read(deps["staged/sct_ssc/followup"], report_years(node)) == {year: {year} for year in report_years(node)}


@pytest.mark.parametrize("indicator", CATALOGUE, ids=[asset_key(i) for i in CATALOGUE])
def test_indicator_reads_its_catalogue_inputs_with_their_delivery_lags(asset_nodes, indicator):
    """Each catalogue input is a dependency; report year R reads the deliveries R+start..R+end that exist."""
    node = asset_nodes[asset_key(indicator)]
    deps = upstream(node)
    for table_input in indicator.inputs:
        key = f"staged/{indicator.condition_id}/{table_input.table}"
        assert key in deps, f"{asset_key(indicator)} does not read {key}"
        delivered = set(report_years(asset_nodes[key]))
        start, end = table_input.offsets
        reads = years_read(deps[key], report_years(node))
        assert reads == {
            year: {str(int(year) + lag) for lag in range(start, end + 1)} & delivered for year in report_years(node)
        }, key


PARTITION_STATUSES = """{ assetNodes { assetKey { path } partitionKeysByDimension { partitionKeys }
  assetPartitionStatuses { __typename ... on DefaultPartitionStatuses {
    materializedPartitions failedPartitions materializingPartitions } } } }"""


def test_the_ui_shows_no_report_year_missing_for_any_asset_after_the_full_run(webserver, full_run):
    """Issue "Only the partitions that can exist": every report year an asset has, up to the last
    delivered one, is materialized as the UI computes it; none before the asset begins is listed."""
    workspace, _ = full_run
    last = max(p.name for p in workspace.data_raw.iterdir() if p.is_dir() and p.name.isdigit())
    missing = {}
    for node in graphql(webserver, PARTITION_STATUSES)["assetNodes"]:
        key = "/".join(node["assetKey"]["path"])
        years = [k for k in node["partitionKeysByDimension"][0]["partitionKeys"] if k <= last]
        # Report years are static partitions: the UI lists the materialized ones (not failed, not in progress).
        statuses = node["assetPartitionStatuses"]
        assert statuses["__typename"] == "DefaultPartitionStatuses", key
        done = set(statuses["materializedPartitions"]) - set(statuses["failedPartitions"]) - set(statuses["materializingPartitions"])
        done &= set(years)
        if set(years) - done:
            missing[key] = sorted(set(years) - done)
    assert missing == {}, "asset: report years shown as missing"
    nodes = {"/".join(n["assetKey"]["path"]): n for n in graphql(webserver, PARTITION_STATUSES)["assetNodes"]}
    assert nodes["results/sct_ssc/R2"]["partitionKeysByDimension"][0]["partitionKeys"][0] == "2026"
    assert nodes["staged/skeletal_dysplasia/patients"]["partitionKeysByDimension"][0]["partitionKeys"][0] == "2026"


RUNS = """{ runsOrError { __typename ... on Runs { results { runId jobName status tags { key value } } } } }"""


def test_runs_of_the_full_run_are_visible_and_succeeded(webserver, full_run):
    """Each publication's manifest names its Dagster run (PUBLICATION.md section 5): the UI must show it."""
    workspace, _ = full_run
    result = graphql(webserver, RUNS)["runsOrError"]
    assert result["__typename"] == "Runs"
    runs = {r["runId"]: r for r in result["results"]}
    manifests = sorted((workspace.warehouse / "published").glob("*/manifest.json"))
    assert [m.parent.name for m in manifests] == ["2024", "2025", "2026"]
    for manifest in manifests:
        run_id = json.loads(manifest.read_text())["dagster_run_id"]
        assert run_id in runs, f"run {run_id} of report year {manifest.parent.name} is not in the instance"
        run = runs[run_id]
        assert run["status"] == "SUCCESS"
        assert {"key": "dagster/partition", "value": manifest.parent.name} in run["tags"]


def test_asset_graph_page_shows_the_five_groups(webserver, tmp_path):
    """The global lineage page (`/asset-groups` in Dagster 1.13) draws one box per group."""
    with headless_chromium(tmp_path, window=(1600, 1000)) as driver:
        driver.get(f"{webserver}/asset-groups")

        def groups_drawn(d) -> bool:
            lines = d.find_element(By.TAG_NAME, "body").text.splitlines()
            # Once in the sidebar's group list and once as a node of the graph.
            return all(lines.count(group) >= 2 for group in GROUPS)

        WebDriverWait(driver, 45, poll_frequency=0.5).until(groups_drawn, "the asset groups were not drawn")
        time.sleep(1)  # let the graph finish its layout animation before the picture
        SCREENSHOT.unlink(missing_ok=True)
        ARTIFACTS.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
