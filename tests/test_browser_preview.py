"""The published preview page in a real browser (PUBLICATION.md section 6).

Section 6 asks for a self-contained page, "no network access needed to open
it", showing every indicator with its Swedish catalogue text and suppressed
cells "marked as such". The page is opened from disk (`file:`) in headless
Chromium, as a publisher would open it, from the publication of the full
pipeline run over the committed sample deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from nhv_pipeline.indicators import CATALOGUE
from tests.browser import (
    ARTIFACTS,
    console_errors,
    discard_logs,
    headless_chromium,
    non_local_requests,
    performance_messages,
    requested_urls,
    save_full_page_screenshot,
)

REPORT_YEAR = 2026
SCREENSHOT = ARTIFACTS / f"preview-{REPORT_YEAR}.png"

#: PUBLICATION.md section 3: the reasons a figure is withheld, and the mark the legend explains for each.
MARKS = {"small_n": "–*", "complementary": "–**"}


@dataclass
class OpenedPreview:
    driver: WebDriver
    path: Path
    urls: list[str]
    errors: list[dict]


@pytest.fixture(scope="module")
def preview(full_run, tmp_path_factory) -> OpenedPreview:
    """index.html of the 2026 publication, loaded once; its network and console logs taken at load."""
    workspace, completed = full_run
    assert completed.returncode == 0, f"`nhv-pipeline run --all` failed:\n{completed.stderr[-3000:]}"
    path = workspace.warehouse / "published" / str(REPORT_YEAR) / "index.html"
    assert path.is_file(), f"no preview page at {path}"
    with headless_chromium(tmp_path_factory.mktemp("chromium-preview")) as driver:
        driver.get("about:blank")
        discard_logs(driver)
        driver.get(path.as_uri())
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
        yield OpenedPreview(
            driver=driver,
            path=path,
            urls=requested_urls(performance_messages(driver)),
            errors=console_errors(driver),
        )


@pytest.fixture(scope="module")
def published_results(preview) -> pd.DataFrame:
    return pd.read_csv(preview.path.parent / "indicator_results.csv", dtype={"unit_id": str}, keep_default_na=False)


def test_preview_loads_nothing_from_the_network(preview):
    """Section 6: "no network access needed to open it" — every request stays on disk or inline."""
    assert preview.path.as_uri() in preview.urls, "the performance log did not record the page itself"
    assert non_local_requests(preview.urls) == []


def test_preview_console_has_no_errors(preview):
    assert preview.errors == [], "\n".join(e["message"] for e in preview.errors)


@pytest.mark.parametrize(
    "indicator", CATALOGUE, ids=[f"{i.condition_id}-{i.indicator_id}" for i in CATALOGUE]
)
def test_every_catalogue_indicator_has_a_visible_section_with_its_swedish_name(preview, indicator):
    section = preview.driver.find_element(By.ID, f"{indicator.condition_id}-{indicator.indicator_id}")
    assert section.get_attribute("data-indicator") == indicator.indicator_id
    assert section.is_displayed()
    heading = section.find_element(By.TAG_NAME, "h3")
    assert heading.is_displayed()
    assert heading.text == f"{indicator.indicator_id} – {indicator.name}"
    # Section 4/6: the catalogue text in Swedish is shown with the figures.
    assert indicator.measure_text.split(".")[0] in section.text


def test_preview_has_one_section_per_catalogue_indicator(preview):
    sections = preview.driver.find_elements(By.CSS_SELECTOR, "section[data-indicator]")
    assert sorted(s.get_attribute("id") for s in sections) == sorted(
        f"{i.condition_id}-{i.indicator_id}" for i in CATALOGUE
    )


def test_suppressed_cells_are_visibly_marked_and_show_no_figure(preview):
    """Section 3/6: a withheld cell shows its mark, on a shaded background, and never a number."""
    # One script for all cells: a WebDriver round trip per cell and property would take seconds.
    cells = preview.driver.execute_script(
        """
        const look = td => {
            const box = td.getBoundingClientRect(), style = getComputedStyle(td);
            return {reason: td.dataset.reason, text: td.innerText.trim(), width: box.width, height: box.height,
                    visible: style.visibility === "visible" && style.display !== "none",
                    background: style.backgroundColor};
        };
        const plain = document.querySelector("td.num:not(.supp):not(.missing)");
        return {plain: look(plain), withheld: Array.from(document.querySelectorAll("td.supp"), look)};
        """
    )
    assert cells["withheld"], "the sample publication has suppressed rows, but no cell is marked"
    for cell in cells["withheld"]:
        assert cell["reason"] in MARKS
        assert cell["visible"] and cell["width"] > 0 and cell["height"] > 0
        assert cell["text"] == MARKS[cell["reason"]]
        assert not any(ch.isdigit() for ch in cell["text"])
        assert cell["background"] != cells["plain"]["background"]
    legend = preview.driver.find_element(By.CSS_SELECTOR, "ul.legend").text
    for mark in MARKS.values():
        assert mark in legend


def test_each_section_marks_exactly_the_suppression_reasons_of_its_published_rows(preview, published_results):
    """Every withheld row of the CSV shows up as a marked cell in its indicator's section, and no other."""
    suppressed = published_results[published_results["suppressed"].astype(str).str.lower() == "true"]
    assert set(suppressed["suppression_reason"]) == set(MARKS), "the sample should exercise both reasons"
    for indicator in CATALOGUE:
        mine = suppressed[
            (suppressed["condition_id"] == indicator.condition_id)
            & (suppressed["indicator_id"] == indicator.indicator_id)
        ]
        section = preview.driver.find_element(By.ID, f"{indicator.condition_id}-{indicator.indicator_id}")
        shown = {c.get_attribute("data-reason") for c in section.find_elements(By.CSS_SELECTOR, "td.supp")}
        assert shown == set(mine["suppression_reason"]), f"{indicator.condition_id} {indicator.indicator_id}"


def test_preview_screenshot_is_kept_as_a_test_artifact(preview):
    SCREENSHOT.unlink(missing_ok=True)
    save_full_page_screenshot(preview.driver, SCREENSHOT)
    png = SCREENSHOT.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    page_height = preview.driver.execute_script("return document.documentElement.scrollHeight")
    # The whole page, not just the first screen (capturing beyond the viewport drops the scrollbar,
    # so the page may reflow a few pixels taller).
    assert height >= page_height > 1024 and width > 0
