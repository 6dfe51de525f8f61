"""benchmarks/RESULTS.md and results.json: the figures a newcomer reads are the data the scripts keep."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import results_file  # noqa: E402
import run_benchmark  # noqa: E402


def test_the_targets_table_of_results_md_is_the_one_results_json_holds():
    assert results_file.check_consistent() == []
    targets = results_file.load()["targets"]
    assert targets and all(set(row) == set(results_file.TARGET_COLUMNS) for row in targets)
    assert all(row["result"] in ("pass", "fail") and row["command"].startswith("`benchmarks/") for row in targets)


def test_no_data_hides_in_an_html_comment_and_the_sections_are_in_order():
    text = (BENCHMARKS / "RESULTS.md").read_text(encoding="utf-8")
    assert "<!--" not in text
    order = [text.index(h) for h in (results_file.CURRENT_HEADING, "## 2. Method", "## 3. History",
                                     run_benchmark.SECTION)]
    assert order == sorted(order)


def test_a_script_replaces_only_its_own_section(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# R\n\n## 1. Mine\n\nold\n\n## 2. Method\n\nkept\n", encoding="utf-8")
    results_file.replace_section("## 1. Mine", "## 1. Mine\n\nnew\n", path)
    assert path.read_text(encoding="utf-8") == "# R\n\n## 1. Mine\n\nnew\n\n## 2. Method\n\nkept\n"
    results_file.replace_section("## 9. Added", "## 9. Added\n\nx\n", path)
    assert path.read_text(encoding="utf-8").endswith("kept\n\n## 9. Added\n\nx\n")
    results_file.replace_section("## 2. Method", "## 2. Method\n\nchanged\n", path)
    assert "kept" not in path.read_text(encoding="utf-8") and "## 9. Added" in path.read_text(encoding="utf-8")


def test_merge_reads_the_recorded_scales_from_results_json(tmp_path):
    scales = run_benchmark.load_results(results_file.RESULTS_JSON)
    assert [r["scale"] for r in scales] == [1.0, 10.0, 100.0, 1000.0]
    assert isinstance(scales[0]["full"], run_benchmark.Measurement)
    json_path = tmp_path / "results.json"
    results_file.store("other", {"kept": True}, json_path)
    md = tmp_path / "RESULTS.md"
    md.write_text("# R\n\n## 2. Method\n\nkept\n", encoding="utf-8")
    run_benchmark.write_results(md, scales, run_benchmark.Measurement(), {"cpus": 2, "memory_gb": 1.0, "python": "3",
                                "platform": "x", "load": None}, __import__("datetime").datetime(2026, 1, 1),
                                1.0, "run_benchmark.py", json_path)
    assert results_file.load(json_path)["other"] == {"kept": True}
    assert [r["scale"] for r in run_benchmark.load_results(json_path)] == [1.0, 10.0, 100.0, 1000.0]
    assert "kept" in md.read_text(encoding="utf-8") and run_benchmark.SECTION in md.read_text(encoding="utf-8")
