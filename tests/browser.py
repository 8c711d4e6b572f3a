"""Headless Debian Chromium driven by Playwright (its own browser download does not work here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """The headless browser itself, for a test module whose people each need a context
    of their own (an organiser, several judges)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError("Debian chromium is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def chromium_page() -> Iterator[object]:
    with chromium_browser() as browser:
        context = browser.new_context(viewport={"width": 414, "height": 860})
        page = context.new_page()
        # Console errors end up in the failure report of the test that caused them.
        page.on("console", lambda message: print(f"[browser {message.type}] {message.text}"))
        page.on("pageerror", lambda error: print(f"[browser error] {error}"))
        page.on(
            "response",
            lambda r: r.status >= 400 and print(f"[browser http {r.status}] {r.url}"),
        )
        yield page
