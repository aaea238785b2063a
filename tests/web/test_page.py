"""The page in a real headless Chromium (Debian's package, driven by Playwright for Python).

The browser is the system's /usr/bin/chromium (apt: chromium, installed by .ci/run); Playwright's
own browser download is never used. Without that binary these tests fail rather than skip: CI
installs it, so a missing browser is a broken set-up, not an optional test.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.rendering import encode, render_lines
from tests.web.conftest import running, url

CHROMIUM = os.environ.get("EDGEOCR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
LINES = ["INVOICE 2024-117", "Paper A4 x 3 15.60", "TOTAL DUE 18.72"]


@pytest.fixture
def browser():
    """One browser per test: Playwright's event loop starts executor threads, and only closing it
    (then joining them) lets each test prove it leaves no thread behind."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)"
    before = set(threading.enumerate())
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=10)  # the loop's executor threads end once the closed loop lets them go


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    opened = context.new_page()
    external: list[str] = []
    opened.on("request", lambda request: external.append(request.url)
              if not request.url.startswith(("http://127.0.0.1", "blob:", "data:")) else None)
    yield opened
    context.close()
    assert not external, f"the page fetched from elsewhere: {external}"


@pytest.fixture(scope="module")
def invoice(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("page") / "invoice.png"
    path.write_bytes(encode(render_lines(LINES)))
    return path


def test_upload_shows_text_and_one_box_per_line_with_hover_linking(engine, page, invoice, tmp_path):
    with running(engine) as server:
        page.goto(url(server, "/"))
        page.set_input_files("#file", str(invoice))
        page.wait_for_selector("#lines li .text")
        assert page.locator("#lines li .text").all_inner_texts() == LINES
        assert page.locator("#boxes polygon").count() == len(LINES)
        assert "3 lines" in page.inner_text("#timing") and " ms" in page.inner_text("#timing")
        assert page.is_hidden("#error")

        # Hover a line: its box lights up (and only its box); hover a box: its line lights up.
        page.hover("#lines li >> nth=1")
        assert page.get_attribute("#boxes polygon >> nth=1", "class") == "hot"
        assert page.locator("#boxes polygon.hot").count() == 1
        page.hover("#timing")
        assert page.locator(".hot").count() == 0
        page.locator("#boxes polygon").nth(2).hover(force=True)
        assert "hot" in page.get_attribute("#lines li >> nth=2", "class")

        # The boxes sit over the text: the SVG's coordinate system is the image's own.
        assert page.get_attribute("#boxes", "viewBox").split() == ["0", "0", *map(str, _size(invoice))]
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)


def test_an_error_is_shown_from_the_json_message(engine, page, tmp_path):
    junk = tmp_path / "broken.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with running(engine) as server:
        page.goto(url(server, "/"))
        page.set_input_files("#file", str(junk))
        page.wait_for_selector("#error:not([hidden])")
        assert "(bad_image)" in page.inner_text("#error")
        assert page.inner_text("#error").startswith("broken.png: ")  # the banner says which file
        assert page.is_hidden("#result")


def test_the_token_field_appears_only_when_the_server_needs_one(engine, page, invoice):
    token = "page-token-12345"
    with running(engine, token=token) as server:
        page.goto(url(server, "/"))
        page.wait_for_selector("#token-row:not([hidden])")
        page.set_input_files("#file", str(invoice))
        page.wait_for_selector("#error:not([hidden])")
        assert "(unauthorized)" in page.inner_text("#error")
        page.fill("#token", token)
        page.dispatch_event("#token", "change")
        page.set_input_files("#file", str(invoice))
        page.wait_for_selector("#lines li .text")
        assert page.is_hidden("#error")
        assert page.evaluate("localStorage.getItem('edgeocr.token')") == token
    with running(engine) as open_server:
        page.goto(url(open_server, "/"))
        expect(page.locator("#status")).to_contain_text(engine.pack.name)
        assert page.is_hidden("#token-row")


# (Waits use expect(), not wait_for_function: that one evals a string, which the page's CSP forbids.)
# Builds a File from base64 in the page and fires the event the user's gesture would fire.
_DISPATCH = """([kind, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], "page.png", { type: "image/png" }));
    const event = kind === "drop"
        ? new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true })
        : new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true });
    (kind === "drop" ? document.getElementById("drop") : document).dispatchEvent(event);
}"""


def test_drop_and_paste_read_the_image_and_copy_all_copies_the_text(engine, browser):
    import base64

    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        with running(engine) as server:
            page.goto(url(server, "/"))
            dropped = base64.b64encode(encode(render_lines(["DROPPED 42"]))).decode()
            page.evaluate(_DISPATCH, ["drop", dropped])
            expect(page.locator("#lines li .text")).to_have_text(["DROPPED 42"])
            pasted = base64.b64encode(encode(render_lines(["PASTED 7", "TWO LINES"]))).decode()
            page.evaluate(_DISPATCH, ["paste", pasted])
            expect(page.locator("#lines li .text")).to_have_text(["PASTED 7", "TWO LINES"])
            page.click("#copy")
            expect(page.locator("#copy")).to_have_text("Copied")
            assert page.evaluate("navigator.clipboard.readText()") == "PASTED 7\nTWO LINES"
    finally:
        context.close()


def test_one_line_is_counted_as_1_line_and_the_favicon_is_served(engine, page, tmp_path):
    single = tmp_path / "single.png"
    single.write_bytes(encode(render_lines(["ONLY LINE 5"])))
    with running(engine) as server:
        page.goto(url(server, "/"))
        page.set_input_files("#file", str(single))
        expect(page.locator("#lines li .text")).to_have_text(["ONLY LINE 5"])
        assert page.inner_text("#timing").startswith("1 line ·"), page.inner_text("#timing")
        icon = page.get_attribute("link[rel=icon]", "href")
        assert page.request.get(url(server, icon)).headers["content-type"].startswith("image/svg+xml")
        answer = page.request.get(url(server, "/favicon.ico"))
        assert answer.status == 200 and b"<svg" in answer.body()


def test_no_paste_shortcut_is_offered_on_a_touch_only_device(engine, browser):
    phone = browser.new_context(viewport={"width": 390, "height": 800}, has_touch=True, is_mobile=True)
    desktop = browser.new_context()
    try:
        with running(engine) as server:
            on_phone = phone.new_page()
            on_phone.goto(url(server, "/"))
            expect(on_phone.locator("#touch-hint")).to_be_visible()
            assert on_phone.is_hidden("#desktop-hint") and "Ctrl+V" not in on_phone.inner_text("#drop")
            on_desktop = desktop.new_page()
            on_desktop.goto(url(server, "/"))
            expect(on_desktop.locator("#desktop-hint")).to_contain_text("Ctrl+V")
            assert on_desktop.is_hidden("#touch-hint")
    finally:
        phone.close()
        desktop.close()


def test_lines_under_the_uncertainty_threshold_are_marked(engine, page, invoice):
    import requests

    with running(engine) as server:  # clean print: every line is well over the default threshold
        assert requests.get(url(server, "/health"), timeout=10).json()["uncertain_below"] == 0.6
        page.goto(url(server, "/"))
        expect(page.locator("#status")).to_contain_text(engine.pack.name)  # /health read
        page.set_input_files("#file", str(invoice))
        expect(page.locator("#lines li .text")).to_have_count(len(LINES))
        assert page.locator("#lines li.uncertain").count() == 0
    with running(engine, uncertain_below=1.0) as strict:  # now every line under 100 % is uncertain
        result = requests.post(url(strict, "/ocr"), data=invoice.read_bytes(), headers={"Content-Type": "image/png"},
                               timeout=60).json()
        doubtful = [i for i, line in enumerate(result["text_lines"]) if line["confidence"] < 1.0]
        assert doubtful
        page.goto(url(strict, "/"))
        expect(page.locator("#status")).to_contain_text(engine.pack.name)
        page.set_input_files("#file", str(invoice))
        expect(page.locator("#lines li .text")).to_have_count(len(LINES))
        marked = [i for i in range(len(LINES)) if "uncertain" in page.get_attribute(f"#lines li >> nth={i}", "class")]
        assert marked == doubtful
        assert page.locator("#boxes polygon.uncertain").count() == len(doubtful)
        assert f"({len(doubtful)} uncertain)" in page.inner_text("#timing")
        assert "uncertain" in page.inner_text("#lines li >> nth=%d" % doubtful[0])


def _size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size
