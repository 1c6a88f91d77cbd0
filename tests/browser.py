"""A real browser for the report tests: Debian's headless Chromium driven by Playwright.

Chromium comes from the system (``.ci/run`` installs Debian's ``chromium``); Playwright's own
browser download is never used.  Every page records what would make a report unfit to send: a
JavaScript console error, an uncaught exception, and any request other than the report file
itself (a report must load nothing).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]
ARTIFACTS = Path(__file__).parent / "artifacts"  # screenshots, ignored by git


class Page:
    """A Playwright page plus what went wrong on it."""

    def __init__(self, page, url: str) -> None:
        self.page = page
        self.url = url
        self.problems: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.problems.append(f"console error: {message.text}"))
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("request", lambda request: request.url != url and self.problems.append(f"request: {request.url}"))

    def screenshot(self, name: str, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=full_page)
        print(f"screenshot: {path}")
        return path


@contextmanager
def open_report(report: Path, profile: Path, width: int = 1500, height: int = 1000) -> Iterator[Page]:
    """``report`` opened in a fresh Chromium profile; fails if the page had any problem."""
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    from playwright.sync_api import sync_playwright

    url = report.resolve().as_uri()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": width, "height": height},
        )
        try:
            page = Page(context.new_page(), url)
            page.page.goto(url)
            page.page.wait_for_load_state("load")
            yield page
            assert not page.problems, page.problems
        finally:
            context.close()
