"""A real browser (Debian's Chromium, driven by Playwright) for the web front ends.

`make test` installs Chromium; a developer without it gets these tests skipped, CI
(CI=true) gets them failed, since the desk's behaviour is only checked here.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.support import databases

CHROMIUM = os.environ.get("THREADLINE_TEST_CHROMIUM", "/usr/bin/chromium")

# Why 10 s and not Playwright's 5: on CI's two cores a page waits on a test server that
# shares them with another xdist worker, a browser and SQLite's one writer; a desk that
# is merely slow there is not the failure these tests look for.
expect.set_options(timeout=10_000)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        reason = f"no Chromium at {CHROMIUM} (make test installs Debian's chromium)"
        if databases.IN_CI:
            pytest.fail(f"{reason}; CI=true: browser tests must run")
        pytest.skip(reason)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    # A laptop's width: the desk must be usable there.
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    await context.close()
    assert errors == [], f"the page raised: {errors}"
