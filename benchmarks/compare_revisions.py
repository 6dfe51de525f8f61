"""Do two revisions of the pipeline publish the same figures? Byte for byte, on the same deliveries.

    .venv/bin/python benchmarks/compare_revisions.py --base 7a1c978 --scale 1 --scale 10

For each scale it writes one synthetic delivery tree (`nhv-pipeline sample-data` of the
working tree, so both sides read identical files), runs `nhv-pipeline run --all` of the
base revision (a temporary git worktree) and of the working tree (or `--head REV`), each
with its own warehouse and Dagster home, and compares every report year's
`indicator_results.csv`, `.parquet` and `.json`. Exit status 0 when all are identical.
A refactoring that must not change a published figure is checked with this script.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULT_FILES = ("indicator_results.csv", "indicator_results.parquet", "indicator_results.json")


def _checkout(revision: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(into), revision], check=True)
    return into


def _cli_module(source: Path) -> str:
    """The command line's module in the code under `source`: in operations/ since the package has its layers."""
    if (source / "nhv_pipeline" / "operations" / "cli.py").is_file():
        return "nhv_pipeline.operations.cli"
    return "nhv_pipeline" + ".cli"  # an older revision's (spelled apart so that an import rewrite leaves it)


def _run(source: Path, data_raw: Path, out: Path) -> Path:
    """`nhv-pipeline run --all` of the code under `source`, with this environment's packages."""
    env = {
        **os.environ,
        "PYTHONPATH": str(source),
        "DAGSTER_HOME": str(out / "dagster_home"),
        "NHV_DATA_RAW": str(data_raw),
        "NHV_WAREHOUSE_DIR": str(out / "warehouse"),
    }
    (out / "dagster_home").mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, "-c", f"from {_cli_module(source)} import main; raise SystemExit(main(['run', '--all', '--quiet']))"],
        cwd=source, env=env, capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the run of {source} failed:\n{done.stderr[-3000:]}")
    return out / "warehouse" / "published"


def _digests(published: Path) -> dict[str, str]:
    return {
        f"{year.name}/{name}": hashlib.sha256((year / name).read_bytes()).hexdigest()
        for year in sorted(p for p in published.iterdir() if p.is_dir() and p.name.isdigit())
        for name in RESULT_FILES
        if (year / name).is_file()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the revision to compare with (e.g. the commit before a refactoring)")
    parser.add_argument("--head", help="the revision to check (default: the working tree)")
    parser.add_argument("--scale", type=float, action="append", help="sample volume (repeatable; default 1)")
    parser.add_argument("--seed", type=int, default=20260331)
    args = parser.parse_args(argv)
    different = 0
    with tempfile.TemporaryDirectory(prefix="nhv-compare-") as temp:
        root = Path(temp)
        base = _checkout(args.base, root / "base")
        head = _checkout(args.head, root / "head") if args.head else REPO
        try:
            for scale in args.scale or [1.0]:
                data_raw = root / f"data-{scale:g}"
                subprocess.run(
                    [sys.executable, "-m", "nhv_pipeline.operations.cli", "sample-data", "--out", str(data_raw),
                     "--seed", str(args.seed), "--scale", str(scale)],
                    cwd=REPO, check=True, capture_output=True,
                )
                left = _digests(_run(base, data_raw, root / f"base-{scale:g}"))
                right = _digests(_run(head, data_raw, root / f"head-{scale:g}"))
                for name in sorted(set(left) | set(right)):
                    same = left.get(name) == right.get(name)
                    different += not same
                    print(f"scale {scale:g} {name}: {'identical' if same else 'DIFFERENT'}")
        finally:
            for tree in (root / "base", root / "head"):
                if tree.exists():
                    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
    print("all identical" if different == 0 else f"{different} files differ")
    return 0 if different == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
