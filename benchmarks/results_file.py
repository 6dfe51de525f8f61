"""Where the benchmark scripts keep their figures: `benchmarks/results.json` (the data) and
`benchmarks/RESULTS.md` (what a person reads).

The JSON holds one entry per script (`run_benchmark`, `against_baselines`) plus the `targets`
table, one row per target. The markdown's "Current figures" table is made from those rows
(`targets_table`), and each script replaces only its own detail section of the markdown
(`replace_section`), so the hand-written method and history stay as they are.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "RESULTS.md"

TARGET_COLUMNS = ("target", "figure", "ratio", "result", "command", "date")


def load(path: Path = RESULTS_JSON) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def store(key: str, value, path: Path = RESULTS_JSON) -> None:
    """Replace one script's entry of the JSON, keeping the others'."""
    data = load(path)
    data[key] = value
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def targets_table(rows: list[dict]) -> str:
    """The markdown table of the targets, one row per target (`TARGET_COLUMNS`)."""
    lines = ["| target | current figure | ratio | result | command | date |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(column, "")).replace("|", "\\|") for column in TARGET_COLUMNS) + " |")
    return "\n".join(lines)


def replace_section(heading: str, section: str, path: Path = RESULTS_MD) -> None:
    """Replace the markdown section that starts with `heading` (up to the next `## ` heading), or append it."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    start = text.find(heading + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    else:
        following = text.find("\n## ", start + len(heading))
        end = following + 1 if following >= 0 else len(text)
        text = text[:start] + section.rstrip("\n") + "\n" + ("\n" if following >= 0 else "") + text[end:]
    path.write_text(text, encoding="utf-8")


def check_consistent(path_md: Path = RESULTS_MD, path_json: Path = RESULTS_JSON) -> list[str]:
    """What differs between the JSON's targets and the markdown's table (empty when they agree)."""
    table = targets_table(load(path_json).get("targets", []))
    return [] if table in path_md.read_text(encoding="utf-8") else ["the targets table of RESULTS.md is not results.json's"]


def main() -> int:
    """`python benchmarks/results_file.py`: rewrite the targets table of RESULTS.md from results.json
    (after editing a row there), then say whether they agree."""
    replace_section(
        CURRENT_HEADING,
        CURRENT_HEADING + "\n\n" + CURRENT_INTRO + "\n\n" + targets_table(load().get("targets", [])) + "\n",
    )
    problems = check_consistent()
    print("\n".join(problems) or "RESULTS.md and results.json agree")
    return 1 if problems else 0


CURRENT_HEADING = "## 1. Current figures against the targets"
CURRENT_INTRO = (
    "One row per target, written from `benchmarks/results.json` (`targets`): edit a row there and run "
    "`.venv/bin/python benchmarks/results_file.py`, which rewrites this table. Ratios are taken within "
    "one sitting (whole processes, alternating), so they are steadier than the seconds on a shared "
    "2-core machine."
)


if __name__ == "__main__":
    raise SystemExit(main())
