"""A unit's HTML validation summary in a real browser (DATA_CONTRACT.md 6: "a short readable summary").

Opened from disk (`file:`) in headless Chromium, as a unit opens the file it was sent, on a
desktop and on a phone width: no network, no console errors, nothing wider than the screen
but the tables' own scroll boxes (on a phone none is needed), and no axe-core violation of WCAG 2.1
A/AA. Screenshots go to test-artifacts/ for people to look at.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from contract_fixtures import SCT_UNIT, baseline, run, sct_path, set_cell
from nhv_pipeline.conditions import get_condition
from nhv_pipeline.contract import write_unit_reports
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
)


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    root = tmp_path_factory.mktemp("unit_report")
    files = baseline()
    transplants = files[sct_path(2026, "transplants")]
    index = transplants[0].index("mobilization_date")
    files[sct_path(2026, "transplants")] = [[c for i, c in enumerate(row) if i != index] for row in transplants]
    set_cell(files, sct_path(2026, "survey"), 2, "sent_date", "2025-02-30")
    set_cell(files, sct_path(2026, "patients"), 2, "sex", "X")
    validation = run(root, files)
    write_unit_reports(validation.failures, root / "validation", 2026, get_condition("sct_ssc"), [SCT_UNIT])
    return root / "validation" / "2026" / "sct_ssc" / f"{SCT_UNIT}.html", validation


@pytest.mark.parametrize("width", [1400, 390])
def test_the_unit_summary_opens_offline_without_errors_and_fits_the_screen(summary, width, tmp_path):
    path, validation = summary
    with headless_chromium(tmp_path, window=(width, 900)) as driver:
        driver.get("about:blank")
        discard_logs(driver)
        driver.get(path.as_uri())
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
        urls = requested_urls(performance_messages(driver))
        assert path.as_uri() in urls
        assert non_local_requests(urls) == []
        assert console_errors(driver) == []
        status = driver.find_element(By.ID, "status")
        assert status.is_displayed() and f"{len(validation.failures)} fel hittades" in status.text
        rules_shown = [row.find_elements(By.TAG_NAME, "td")[0].text for row in driver.find_elements(By.CSS_SELECTOR, "#per-rule tbody tr")]
        assert sorted(rules_shown) == sorted(set(validation.failures["rule"]))
        examples = driver.find_elements(By.CSS_SELECTOR, "#examples tbody tr")
        assert len(examples) == len(validation.failures)
        # Nothing but the tables' scroll boxes is wider than the window.
        page_width = driver.execute_script("return document.documentElement.scrollWidth")
        viewport = driver.execute_script("return window.innerWidth")
        assert page_width <= viewport, (page_width, viewport)
        if width <= 390:
            # On a phone each failure is a block of labelled lines: no table needs scrolling sideways.
            boxes = driver.execute_script(
                "return [...document.querySelectorAll('.scroll')].map(e => [e.scrollWidth, e.clientWidth])"
            )
            assert boxes and all(scroll <= client for scroll, client in boxes), boxes
        # EN 301 549 (WCAG 2.1 AA): the page a unit reads passes axe-core at this width too.
        violations = axe_violations(driver)
        assert violations == [], describe_violations(violations)
        save_full_page_screenshot(driver, ARTIFACTS / f"unit-report-{width}.png")
