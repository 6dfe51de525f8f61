"""The condition registry (`nhv_pipeline.conditions`): a folder is an area, found on the first lookup."""

from __future__ import annotations

import subprocess
import sys

import pytest

import nhv_pipeline.conditions as registry


@pytest.fixture
def fresh_registry(monkeypatch, tmp_path):
    """The registry as in a new process, with `tmp_path` as one more folder of condition packages."""
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_LOADED", False)
    monkeypatch.setattr(registry, "__path__", [*registry.__path__, str(tmp_path)])
    monkeypatch.delenv(registry.EXTRA_MODULES_ENV, raising=False)
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith(f"{registry.__name__}."):
            del sys.modules[name]


def _package(folder, name: str, text: str) -> None:
    (folder / name).mkdir()
    (folder / name / "__init__.py").write_text(text, encoding="utf-8")


def test_importing_the_registry_imports_no_condition_package():
    code = (
        "import sys\n"
        "import nhv_pipeline.conditions\n"
        "print(sorted(m for m in sys.modules if m.startswith('nhv_pipeline.conditions.')))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_the_shipped_areas_are_the_folders_in_alphabetical_order():
    assert registry.shipped_packages()[:2] == ("sct_ssc", "skeletal_dysplasia")
    assert registry.shipped_packages() == tuple(sorted(registry.shipped_packages()))
    assert registry.condition_ids()[: len(registry.shipped_packages())] == registry.shipped_packages()


def test_a_new_folder_is_registered_with_nothing_else_added(fresh_registry):
    _package(fresh_registry, "test_area", "from third_condition import CONDITION\n")
    assert registry.condition_ids() == ("sct_ssc", "skeletal_dysplasia", "test_area")
    assert registry.get_condition("test_area").name == "Testområde"


def test_a_condition_registered_before_the_first_lookup_comes_after_the_shipped_ones(fresh_registry):
    import third_condition

    registry.register(third_condition.CONDITION)
    assert registry.condition_ids()[-1] == "test_area"
    assert registry.condition_ids()[:2] == ("sct_ssc", "skeletal_dysplasia")


def test_a_folder_without_a_condition_or_named_otherwise_is_refused(fresh_registry):
    _package(fresh_registry, "zz_empty", "")
    with pytest.raises(TypeError, match="zz_empty/ has no CONDITION"):
        registry.registered()


def test_a_folder_named_unlike_its_condition_is_refused(fresh_registry):
    _package(fresh_registry, "zz_area", "from third_condition import CONDITION\n")
    with pytest.raises(ValueError, match="zz_area/ declares the condition 'test_area'"):
        registry.registered()
