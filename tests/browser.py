"""Headless Chromium through Selenium for the browser tests, offline by construction.

The tests run on machines without network access (PUBLICATION.md section 6: the
preview must open with no network at all), so the browser is Debian's Chromium
with its own ChromeDriver, named explicitly: Selenium Manager never runs and
never downloads a driver. Host names other than loopback do not resolve, so a
page that tries to reach the internet fails locally instead of leaving the
machine; the tests still see the attempt in the performance log.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "test-artifacts"
"""Screenshots kept for people to look at after a test run (git-ignored)."""

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-proxy-server",
    # Every name but loopback is unresolvable: nothing can leave the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)

#: URL schemes a self-contained page may load from.
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


def chromium_options(user_data_dir: Path, window: tuple[int, int] = (1280, 1024)) -> Options:
    """Chromium options: a fresh profile, the offline flags, and the performance and console logs."""
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return options


@contextmanager
def headless_chromium(tmp_path: Path, window: tuple[int, int] = (1280, 1024)) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile under `tmp_path`; quit on exit."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    assert not missing, f"install Debian's chromium and chromium-driver (`make browser`): missing {missing}"
    # Belt and braces: even if a Selenium code path consulted Selenium Manager, it may not download.
    os.environ.setdefault("SE_OFFLINE", "true")
    profile = tmp_path / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    driver = webdriver.Chrome(
        options=chromium_options(profile, window),
        service=Service(executable_path=str(CHROMEDRIVER)),
    )
    try:
        yield driver
    finally:
        driver.quit()


def discard_logs(driver: WebDriver) -> None:
    """Forget the performance and console entries so far (the start-up tab loads chrome:// pages)."""
    driver.get_log("performance")
    driver.get_log("browser")


def performance_messages(driver: WebDriver) -> list[dict]:
    """The DevTools events logged since the last call (each `{"method": ..., "params": ...}`)."""
    return [json.loads(entry["message"])["message"] for entry in driver.get_log("performance")]


def requested_urls(messages: list[dict]) -> list[str]:
    """Every URL the page asked the network stack for (`Network.requestWillBeSent`)."""
    return [m["params"]["request"]["url"] for m in messages if m.get("method") == "Network.requestWillBeSent"]


def non_local_requests(urls: list[str]) -> list[str]:
    """The URLs that would need a network: anything not `file:`, `data:`, `about:` or `blob:`."""
    return [u for u in urls if not u.startswith(LOCAL_SCHEMES)]


def console_errors(driver: WebDriver) -> list[dict]:
    """The console entries at level SEVERE (errors, failed loads, uncaught exceptions) since the last call."""
    return [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def save_full_page_screenshot(driver: WebDriver, path: Path) -> Path:
    """A PNG of the whole document, not only the viewport, through the DevTools protocol.

    Selenium's full-page screenshot is Firefox-only; in Chromium
    `Page.captureScreenshot` with `captureBeyondViewport` renders the full
    content size in one image.
    """
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
"""axe-core, pinned in package.json / package-lock.json (`npm ci` in `make test` installs it)."""

#: WCAG 2.1 level A and AA: what EN 301 549 (the accessibility law for public bodies) requires.
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


def axe_violations(driver: WebDriver, tags: tuple[str, ...] = WCAG_TAGS) -> list[dict]:
    """Inject axe-core into the open page and run it; the violations of rules tagged with ``tags``.

    Each violation is axe's own object (``id``, ``impact``, ``help``, ``nodes`` with their
    ``target`` selectors). The script is injected as text, so the page itself loads nothing.
    """
    assert AXE_JS.is_file(), f"axe-core is missing at {AXE_JS}: run `npm ci --no-audit --no-fund` (make test does)"
    driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    driver.set_script_timeout(120)
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
           .then(r => done({violations: r.violations}))
           .catch(e => done({error: String(e)}));
        """,
        list(tags),
    )
    assert "error" not in result, result.get("error")
    return result["violations"]


def describe_violations(violations: list[dict]) -> str:
    """One line per violation and node, for an assertion message."""
    lines = []
    for v in violations:
        for node in v["nodes"][:5]:
            lines.append(f"{v['id']} ({v['impact']}): {v['help']} at {node['target']}")
        if len(v["nodes"]) > 5:
            lines.append(f"  … and {len(v['nodes']) - 5} more nodes")
    return "\n".join(lines)


def set_viewport_width(driver: WebDriver, width: int, height: int = 900) -> None:
    """Emulate a device of ``width`` CSS pixels (a phone at 390), whatever the window decorations take."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
