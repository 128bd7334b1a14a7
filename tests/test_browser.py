"""The page in a real browser: start ``streamlit run app.py``, run the default comparison in
Chromium (driven by Playwright), see the KPI table and the charts, and save a screenshot to
``tests/artifacts/app.png``; and upload files whose name, keys, values and labels carry Markdown
and HTML, which must show as text, never as an image or a link.

It needs the system Chromium (``/usr/bin/chromium``, Debian package ``chromium``). Without it the
test is skipped, unless ``FLOWSIM_REQUIRE_BROWSER=1`` (set by CI, which installs Chromium), when
it fails instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from .served import free_port, served
from .shared import REPO

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = REPO / "tests" / "artifacts" / "app.png"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _need(ok: bool, why: str) -> None:
    if ok:
        return
    if os.environ.get("FLOWSIM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"FLOWSIM_REQUIRE_BROWSER=1 but {why}")
    pytest.skip(why)


@contextlib.contextmanager
def _chromium(tmp_path: Path, height: int) -> Iterator[Any]:
    """Headless Chromium (the system's) with a fresh profile, a 1400-pixel-wide window and
    downloads allowed; skipped, or failed under FLOWSIM_REQUIRE_BROWSER=1, when it cannot run."""
    _need(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "Playwright for Python is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": height},
            accept_downloads=True,
        )
        try:
            yield browser
        finally:
            browser.close()


def _serve_app(tmp_path: Path) -> Iterator[str]:
    """The app served on a free port on 127.0.0.1, as ``flowsim app`` serves it; its URL."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(REPO / "app.py"),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    with served(cmd, port, REPO, tmp_path / "streamlit.log") as url:
        yield url


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    yield from _serve_app(tmp_path)


@pytest.mark.slow
def test_default_comparison_in_chromium(short_app_url: str, tmp_path: Path) -> None:
    # The page's defaults are the baseline file's run settings; the short baseline keeps the
    # run to seconds on a shared machine.
    app_url = short_app_url
    with _chromium(tmp_path, height=4200) as browser:
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.goto(app_url, wait_until="domcontentloaded")
        run = page.get_by_role("button", name="Run the comparison")
        run.wait_for(timeout=60_000)
        run.click()
        page.get_by_text("Each change against baseline", exact=True).wait_for(timeout=120_000)
        table = page.locator("[data-testid='stDataFrame']").first
        table.wait_for(timeout=60_000)
        page.wait_for_function(
            "document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]').length >= 5",
            timeout=60_000,
        )
        assert page.get_by_text("Something went wrong").count() == 0
        assert page.locator("[data-testid='stException']").count() == 0
        page.wait_for_timeout(1500)  # let the charts draw
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


# Nothing listens on port 9 (discard): a request there is the sign of markup made from user text.
TRAP = "127.0.0.1:9"
HOSTILE_NAME = "n`` ![](http:127.0.0.1:9\\name.png) [a](http:127.0.0.1:9) ``.yaml"
HOSTILE_FILE = f"""extends: baseline.yaml
"x`` ![](http://{TRAP}/key.png) ``y": 1
places:
  wards: {{capacity: "`` [link](http://{TRAP}/value.html) `` http://{TRAP}/bare <http://{TRAP}/angle>"}}
""".encode()
HOSTILE_LABEL = f"""extends: baseline.yaml
name: labelled
places:
  wards: {{label: '![](http://{TRAP}/label.png) "]; x [URL="http://{TRAP}/dot"'}}
""".encode()
_TRAPPED = re.compile(r"127\.0\.0\.1:9(?!\d)")
_LINKS = """() => Array.from(document.querySelectorAll('*')).flatMap(el =>
    Array.from(el.attributes)
        .filter(a => ['src', 'href', 'xlink:href', 'srcset', 'action', 'data', 'poster']
            .includes(a.name))
        .map(a => el.tagName + ' ' + a.name + '=' + a.value))"""


@pytest.mark.slow
def test_markdown_in_an_upload_stays_text_in_chromium(app_url: str, tmp_path: Path) -> None:
    requested: list[str] = []
    with _chromium(tmp_path, height=3000) as browser:
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.on("request", lambda r: requested.append(r.url))
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_role("button", name="Run the comparison").wait_for(timeout=60_000)
        page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(
            [
                {
                    "name": HOSTILE_NAME,
                    "mimeType": "application/x-yaml",
                    "buffer": HOSTILE_FILE,
                },
                {
                    "name": "labelled.yaml",
                    "mimeType": "application/x-yaml",
                    "buffer": HOSTILE_LABEL,
                },
            ]
        )
        alert = page.locator("[data-testid='stAlert']", has_text="is not a valid scenario")
        alert.first.wait_for(timeout=60_000)
        page.get_by_role("tab", name="Pathway").click()
        page.get_by_role("combobox", name="Scenario", exact=True).click()
        page.get_by_role("option", name="labelled").click()
        page.locator("[data-testid='stGraphVizChart']", has_text="label.png").wait_for(
            timeout=60_000
        )
        page.locator("[data-testid='stGraphVizChart'] svg").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # let anything that would load, load
        shown = alert.first.inner_text()
        links = page.evaluate(_LINKS)
        diagram = page.locator("[data-testid='stGraphVizChart']").inner_text()
        assert page.get_by_text("Something went wrong").count() == 0
    # The user's text is there, as text: the test would see the markup if it were made.
    assert f"![](http://{TRAP}/key.png)" in shown and f"[link](http://{TRAP}/value.html)" in shown
    assert "![](http:127.0.0.1:9" in shown  # the file name
    assert f"![](http://{TRAP}/label.png)" in diagram
    assert not [a for a in links if _TRAPPED.search(a)], links
    trapped = [u for u in requested if (urlsplit(u).hostname, urlsplit(u).port) == ("127.0.0.1", 9)]
    assert not trapped, trapped


PAGE_SHOT = REPO / "tests" / "artifacts" / "page.png"
REPORT_SHOT = REPO / "tests" / "artifacts" / "report.png"
SHORT_RUN = """run:
  warmup: 42d
  length: 91d
  replications: 3
  seed: 20240902
"""


@pytest.fixture
def short_app_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The page serving a copy of the scenarios whose baseline asks for few replications (so
    that the page's defaults, read from the file, answer in seconds)."""
    import shutil

    folder = tmp_path / "scenarios"
    shutil.copytree(REPO / "scenarios", folder)
    base = folder / "baseline.yaml"
    text = base.read_text()
    start = text.index("\nrun:\n") + 1
    end = text.index("\n\n", start) + 1
    base.write_text(text[:start] + SHORT_RUN + text[end:])
    monkeypatch.setenv("FLOWSIM_SCENARIOS", str(folder))
    yield from _serve_app(tmp_path)


@pytest.mark.slow
def test_headline_and_the_downloaded_report_draw_offline_in_chromium(
    short_app_url: str, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    attempted: list[str] = []
    with _chromium(tmp_path, height=1000) as browser:
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.goto(short_app_url, wait_until="domcontentloaded")
        run = page.get_by_role("button", name="Run the comparison")
        run.wait_for(timeout=60_000)
        # The run settings are the file's own, and the page says so.
        page.get_by_text("3 replications of 91 days after 42 days' warm-up").wait_for(
            timeout=30_000
        )
        run.click()
        # Progress says the time so far and the time left (6 replications: 5 updates).
        page.get_by_text(
            re.compile(r"^\d of 6 replications done · .+ so far · about .+ left$")
        ).first.wait_for(timeout=120_000)
        headline = page.get_by_text(re.compile(r"^Within 4 hours: .*95% CI .* — "))
        headline.first.wait_for(timeout=180_000)
        text = headline.first.inner_text()
        assert re.fullmatch(
            r"Within 4 hours: (no clear difference|[+−-]?[\d.]+ points) \(95% CI .+\) — "
            r"(better|worse|no clear difference)",
            text.strip(),
        ), text
        page.wait_for_function(
            "document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]').length >= 6",
            timeout=60_000,
        )
        assert page.get_by_text("Something went wrong").count() == 0
        page.set_viewport_size({"width": 1400, "height": 2600})
        page.wait_for_timeout(1500)  # let the charts draw
        PAGE_SHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(PAGE_SHOT), full_page=True)

        page.get_by_role("button", name="Make the report (HTML, opens offline)").click()
        get = page.get_by_role("button", name=re.compile(r"^Download the report"))
        get.wait_for(timeout=120_000)
        with page.expect_download(timeout=60_000) as download:
            get.click()
        download.value.save_as(report)

        # The report with every request but its own file refused, as on a laptop offline.
        offline = browser.new_page()

        def refuse(route) -> None:  # type: ignore[no-untyped-def]
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                attempted.append(route.request.url)
                route.abort()

        offline.route("**/*", refuse)
        offline.goto(report.as_uri(), wait_until="load")
        charts = offline.locator("div.chart")
        n = charts.count()
        assert n >= 3
        offline.wait_for_function(
            f"document.querySelectorAll('div.chart svg').length >= {n}", timeout=60_000
        )
        drawn = offline.evaluate(
            """() => Array.from(document.querySelectorAll('div.chart')).map(d => {
                const svg = d.querySelector('svg');
                return svg ? svg.querySelectorAll('path, rect, line, text').length : 0; })"""
        )
        offline.set_viewport_size({"width": 1100, "height": 900})
        offline.screenshot(path=str(REPORT_SHOT), full_page=True)
    assert not attempted, attempted
    assert all(k > 10 for k in drawn), drawn  # every chart drew marks, not an empty frame
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?https?://", html)
