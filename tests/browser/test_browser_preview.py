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
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from nhv_pipeline.conditions import registered
from nhv_pipeline.indicators import catalogue_for
from tests.browser import (
    ARTIFACTS,
    axe_violations,
    console_errors,
    describe_violations,
    discard_logs,
    headless_chromium,
    non_local_requests,
    performance_messages,
    requested_urls,
    save_full_page_screenshot,
    set_viewport_width,
)

REPORT_YEAR = 2026
#: The indicators in force for the previewed year (a version applying from a later year is not on its page).
CATALOGUE = catalogue_for(registered(), REPORT_YEAR)
SCREENSHOT = ARTIFACTS / f"preview-{REPORT_YEAR}.png"

#: PUBLICATION.md section 3 (issue 14): one mark for every suppressed cell, whatever the reason.
MARK = "–"
#: What a screen reader reads for that mark (no reason either).
SR_TEXT = "undertryckt: färre än 5 personer eller skyddar en annan uppgift"
#: A desktop and a phone (an iPhone 12-15 is 390 CSS pixels wide).
WIDTHS = (1400, 390)
#: The smallest chart text, in CSS pixels, that stays readable on a phone.
MIN_CHART_TEXT_PX = 11.0


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
    # PUBLICATION.md 4: Teknisk beskrivning and Felkällor och begränsningar too, paragraphs on lines of their own.
    for text in (indicator.technical_description, indicator.limitations):
        for paragraph in filter(None, text.split("\n\n")):
            assert paragraph.split("\n")[0].strip() in section.text


def test_preview_has_one_section_per_catalogue_indicator(preview):
    sections = preview.driver.find_elements(By.CSS_SELECTOR, "section[data-indicator]")
    assert sorted(s.get_attribute("id") for s in sections) == sorted(
        f"{i.condition_id}-{i.indicator_id}" for i in CATALOGUE
    )


def test_suppressed_cells_are_visibly_marked_and_show_no_figure(preview):
    """Section 3/6: a withheld cell shows the one mark, on a shaded background, and never a number.

    Issue 14 changed this from two marks (one per reason) to one: the page never tells why.
    """
    # One script for all cells: a WebDriver round trip per cell and property would take seconds.
    cells = preview.driver.execute_script(
        """
        const look = td => {
            const box = td.getBoundingClientRect(), style = getComputedStyle(td);
            const mark = td.querySelector(".mark"), sr = td.querySelector(".sr-only");
            return {reason: td.dataset.reason || null, mark: mark ? mark.textContent : null,
                    markHidden: mark ? mark.getAttribute("aria-hidden") : null,
                    sr: sr ? sr.textContent : null, srWidth: sr ? sr.getBoundingClientRect().width : null,
                    text: td.textContent.trim(), width: box.width, height: box.height,
                    visible: style.visibility === "visible" && style.display !== "none",
                    background: style.backgroundColor};
        };
        const plain = document.querySelector("td.num:not(.supp):not(.missing)");
        return {plain: look(plain), withheld: Array.from(document.querySelectorAll("td.supp"), look)};
        """
    )
    assert cells["withheld"], "the sample publication has suppressed rows, but no cell is marked"
    for cell in cells["withheld"]:
        assert cell["reason"] is None
        assert cell["visible"] and cell["width"] > 0 and cell["height"] > 0
        assert cell["mark"] == MARK and cell["markHidden"] == "true"
        assert cell["sr"] == SR_TEXT and cell["srWidth"] <= 1  # read aloud, not shown
        assert not any(ch.isdigit() for ch in cell["text"].replace(SR_TEXT, ""))
        assert cell["background"] != cells["plain"]["background"]
    legend = preview.driver.find_element(By.CSS_SELECTOR, "ul.legend").text
    assert MARK in legend and "färre än 5" in legend


def test_each_section_marks_exactly_its_suppressed_published_rows(preview, published_results):
    """Every indicator with withheld rows in the CSV shows marked cells in its section, and no other."""
    assert "suppression_reason" not in published_results.columns
    suppressed = published_results[published_results["suppressed"].astype(str).str.lower() == "true"]
    assert len(suppressed), "the sample should have suppressed rows"
    for indicator in CATALOGUE:
        mine = suppressed[
            (suppressed["condition_id"] == indicator.condition_id)
            & (suppressed["indicator_id"] == indicator.indicator_id)
        ]
        section = preview.driver.find_element(By.ID, f"{indicator.condition_id}-{indicator.indicator_id}")
        shown = len(section.find_elements(By.CSS_SELECTOR, "td.supp"))
        assert (shown > 0) == (len(mine) > 0), f"{indicator.condition_id} {indicator.indicator_id}"


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


# --- accessibility and phone widths (issue 11) ------------------------------------------


@dataclass
class SizedPreview:
    driver: WebDriver
    width: int


@pytest.fixture(scope="module", params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def sized(request, preview, tmp_path_factory) -> SizedPreview:
    """The same page at a desktop and at a phone width (device metrics emulated, as DevTools does)."""
    width = request.param
    with headless_chromium(tmp_path_factory.mktemp(f"chromium-{width}")) as driver:
        set_viewport_width(driver, width)
        driver.get(preview.path.as_uri())
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
        yield SizedPreview(driver=driver, width=width)


def test_axe_finds_no_wcag_2_1_a_or_aa_violation(sized):
    """EN 301 549 (WCAG 2.1 AA): axe-core over the page, at this width, reports nothing."""
    violations = axe_violations(sized.driver)
    assert violations == [], f"{len(violations)} axe violations at {sized.width}px:\n" + describe_violations(
        violations
    )


def test_the_page_is_no_wider_than_the_viewport(sized):
    widths = sized.driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= sized.width and widths[1] <= sized.width, f"page {widths} at a {sized.width}px viewport"


def test_chart_text_stays_readable(sized):
    """Every SVG text is drawn at least 11 CSS pixels tall at this width (the charts scale with the column)."""
    smallest = sized.driver.execute_script(
        """
        let min = Infinity, where = "";
        for (const t of document.querySelectorAll("svg text")) {
            const svg = t.ownerSVGElement, box = svg.getBoundingClientRect();
            if (!box.width) continue;
            const px = parseFloat(t.getAttribute("font-size")) * box.width / svg.viewBox.baseVal.width;
            if (px < min) { min = px; where = t.textContent; }
        }
        return [min, where];
        """
    )
    assert smallest[0] >= MIN_CHART_TEXT_PX, f"chart text {smallest[1]!r} is {smallest[0]:.1f}px at {sized.width}px"


def test_wide_tables_scroll_inside_a_focusable_region_with_a_cue(sized):
    """A table wider than the column scrolls in its own box, reachable and scrollable by keyboard."""
    boxes = sized.driver.execute_script(
        """
        return Array.from(document.querySelectorAll(".table-wrap"), (w, i) => ({
            i, scrolls: w.scrollWidth > w.clientWidth + 1, tabindex: w.getAttribute("tabindex"),
            role: w.getAttribute("role"), label: w.getAttribute("aria-label"),
            cue: getComputedStyle(w).backgroundImage}));
        """
    )
    assert boxes
    for box in boxes:
        assert box["tabindex"] == "0" and box["role"] == "region" and box["label"], box
    scrolling = [b for b in boxes if b["scrolls"]]
    if sized.width == 390:
        assert scrolling, "at 390px some breakdown table is wider than the column"
    for box in scrolling:
        assert "gradient" in box["cue"], box  # the edge shadows that show there is more
    if scrolling:
        wrap = sized.driver.find_elements(By.CSS_SELECTOR, ".table-wrap")[scrolling[0]["i"]]
        sized.driver.execute_script("arguments[0].scrollIntoView(); arguments[0].focus();", wrap)
        wrap.send_keys(Keys.ARROW_RIGHT)
        WebDriverWait(sized.driver, 5).until(lambda d: d.execute_script("return arguments[0].scrollLeft", wrap) > 0)


def test_every_chart_has_a_text_alternative(sized):
    charts = sized.driver.execute_script(
        """
        return Array.from(document.querySelectorAll("svg"), s => ({
            role: s.getAttribute("role"),
            title: (document.getElementById(s.getAttribute("aria-labelledby")) || {}).textContent || "",
            desc: (document.getElementById(s.getAttribute("aria-describedby")) || {}).textContent || ""}));
        """
    )
    assert charts
    for chart in charts:
        assert chart["role"] == "img" and chart["title"] and chart["desc"], chart


def test_screenshots_at_desktop_and_phone_width_are_kept(sized):
    path = ARTIFACTS / f"preview-{REPORT_YEAR}-{sized.width}.png"
    path.unlink(missing_ok=True)
    save_full_page_screenshot(sized.driver, path)
    png = path.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # The document's width: the viewport less a desktop scrollbar, never more than the viewport.
    assert sized.width - 20 <= int.from_bytes(png[16:20], "big") <= sized.width
