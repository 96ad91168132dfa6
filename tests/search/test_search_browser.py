"""The web page in Debian's headless Chromium (driven by Playwright): type a query, see results."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from searchkit import FRAMES, ColourEncoder

from svta.search.app import create_app
from svta.search.config import SearchConfig
from svta.search.searcher import Searcher
from svta.search.server import BackgroundServer

# `make test` installs Debian's chromium first (scripts/ensure_chromium.sh); SVTA_CHROMIUM points elsewhere.
CHROMIUM = Path(
    os.environ.get("SVTA_CHROMIUM")
    or next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), "/usr/bin/chromium")
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def page_url(colour_index):
    app = create_app(Searcher.open(colour_index[1], ColourEncoder()), SearchConfig())
    with BackgroundServer(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api

    if not CHROMIUM.exists():
        pytest.fail(f"the browser test needs Chromium at {CHROMIUM}: apt-get install chromium, or set SVTA_CHROMIUM")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


def test_type_a_query_and_see_results(browser, page_url):
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)  # CSP violations land here
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append("dialog: " + d.message), d.dismiss()))
    page.goto(page_url + "/")
    page.fill("#q", "red")
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    cards = page.locator(".card")
    assert cards.count() == 6
    assert cards.nth(0).get_attribute("data-id") in ("red1", "red2")
    assert cards.nth(2).get_attribute("data-id") == "blue2red"
    assert cards.nth(0).locator(".chip").inner_text() in ("fighting", "arson")
    assert "anomaly" in (cards.nth(0).locator(".chip").get_attribute("class") or "")
    assert cards.nth(0).locator(".strip button").count() == FRAMES
    assert "best" in (cards.nth(2).locator(".strip button").nth(FRAMES - 1).get_attribute("class") or "") or "best" in (
        cards.nth(2).locator(".strip button").nth(FRAMES // 2).get_attribute("class") or ""
    )
    assert "6 result(s) (only 6 video(s) match)" in page.inner_text("#status")  # 12 asked, the index holds 6
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0  # caption stays text
    assert "<img src=x" in cards.nth(2).locator(".caption").inner_text()
    thumb = cards.nth(0).locator("img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert "q=red" in page.url
    assert not problems, problems


def test_filter_hover_and_errors(browser, page_url):
    page = browser.new_page()
    page.goto(page_url + "/?q=blue&kind=anomaly&k=12")  # a shared link restores the search
    page.wait_for_selector(".card")
    assert {c.get_attribute("data-id") for c in page.locator(".card").all()} == {"red1", "red2", "blue2red"}
    page.click("text=Normal")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.card')].every(c => !c.querySelector('.chip.anomaly'))"
    )
    assert page.locator(".card").first.get_attribute("data-id") == "blue1"
    media = page.locator(".card .media").first
    media.hover()
    page.wait_for_function(
        "m => m.classList.contains('playing') && m.querySelector('video').src.includes('/videos/blue1')",
        arg=media.element_handle(),
    )
    video = media.locator("video").element_handle()
    page.wait_for_function("v => v.readyState >= 2 && v.currentTime > 0", arg=video)  # it plays (ranges served)
    page.locator(".card").first.locator(".strip button").nth(3).click()  # seek to that frame's time
    page.wait_for_function("v => v.controls && !v.paused", arg=video)
