"""The HTML reports in a real browser (headless Chromium via Playwright): no errors, no requests,
readable at desktop and phone widths. Screenshots go to tests/artifacts/ for people to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reporter.cli import main

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the browser tests: install Debian's chromium (make test does)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make test installs it)")
WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("browser")
    for run in ("examples/iemocap-da", "tests/fixtures/hostile", "examples/wandb-export"):
        assert main(["report", run, "--out", str(out), "--format", "html", "-q", "--now", "2025-03-15T09:00:00"]) == 0
    return {"demo": out / "iemocap-da", "hostile": out / "hostile", "steps": out / "wandb-export"}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield launched
        launched.close()


@pytest.mark.parametrize("run", ["demo", "hostile", "steps"])  # steps: a projection table and a step axis
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("device", list(WIDTHS))
def test_report_in_chromium(browser, reports, run: str, lang: str, device: str) -> None:
    page = browser.new_page(viewport={"width": WIDTHS[device], "height": 900})
    errors, requests, dialogs = [], [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto((reports[run] / f"report.{lang}.html").as_uri())
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{run}-{lang}-{device}.png"), full_page=True)
    assert errors == [] and dialogs == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    assert page.evaluate("document.documentElement.lang") == ("zh-Hans" if lang == "zh" else "en")
    assert page.evaluate("[...document.images].every(img => img.alt && img.complete && img.naturalWidth > 0)")
    # Nothing but the wrapped tables may scroll sideways: the page itself fits the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[device] + 1
    page.close()
