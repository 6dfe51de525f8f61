"""The contract's two shortcuts into pandera are trusted on the pinned pandera only.

`contract/schema.py` registers its named checks in `pa.Check.REGISTERED_CUSTOM_CHECKS` (what
`pandera.extensions.register_check_method` does, without importing hypothesis through pandera's
strategies), and `contract/__init__.py` loads pandera's check backend with hypothesis hidden. Neither
is pandera's documented API: together they save about 0.4 s of every command's start-up (measured
again in this change: 0.1-0.35 s per process on a loaded 2-core machine). An upgrade of pandera must
come through this test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pandera as pandera_package
import pandera.pandas as pa

LOCK = Path(__file__).resolve().parents[2] / "requirements.lock"


def test_the_pandera_shortcuts_run_only_on_the_pinned_pandera():
    pinned = re.search(r"^pandera==(\S+)", LOCK.read_text(encoding="utf-8"), re.MULTILINE).group(1)
    assert pandera_package.__version__ == pinned, (
        f"pandera {pandera_package.__version__} is installed, but contract/schema.py writes its checks into "
        f"pandera's registry (pa.Check.REGISTERED_CUSTOM_CHECKS) and contract/__init__.py loads pandera's check "
        f"backend with hypothesis hidden, both checked on pandera {pinned} only: run the contract tests against "
        "the new version, then update the pin in requirements.lock (or switch to "
        "pandera.extensions.register_check_method, at about 0.4 s of start-up per command)."
    )


def test_the_registered_checks_are_fields_pandera_runs():
    import nhv_pipeline.contract.schema  # noqa: F401 - registers the checks

    for name in ("date_format", "bool_format"):
        assert name in pa.Check.REGISTERED_CUSTOM_CHECKS, f"pandera no longer keeps {name!r} in its registry"

    class Model(pa.DataFrameModel):
        day: str = pa.Field(date_format=())

    errors = None
    try:
        Model.validate(pd.DataFrame({"day": ["2024-02-29", "2023-02-29"]}), lazy=True)
    except pa.errors.SchemaErrors as caught:
        errors = caught.failure_cases
    assert errors is not None and list(errors["failure_case"]) == ["2023-02-29"]


def test_loading_the_contract_does_not_import_hypothesis():
    code = "import sys, nhv_pipeline.contract; print('hypothesis' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "False"
