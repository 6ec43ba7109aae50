"""The report as an A4 PDF: the HTML page printed by a headless Chromium through Playwright.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, or ``$YUNYING_CHROMIUM``); CJK text needs a CJK
font installed (Debian: ``fonts-noto-cjk``). Playwright is the ``pdf`` extra: ``pip install 'yunying[pdf]'``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ...errors import YunyingError

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    path = os.environ.get("YUNYING_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise YunyingError(key="weekly.pdf.pdf_needs_chromium_install")
    return path


def html_to_pdf(page_html: str, path: str | Path) -> Path:
    """Print ``page_html`` to ``path`` on A4 (margins from the page's ``@page`` rule), with page numbers."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise YunyingError(key="weekly.pdf.pdf_needs_playwright_pip") from None
    path = Path(path)
    footer = ("<div style='font-size:8px;width:100%;text-align:center;color:#888'>"
              "<span class='pageNumber'></span> / <span class='totalPages'></span></div>")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            page = browser.new_page()
            page.set_content(page_html, wait_until="load")
            page.pdf(path=str(path), format="A4", print_background=True, prefer_css_page_size=True,
                     display_header_footer=True, header_template="<div></div>", footer_template=footer,
                     margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"})
        finally:
            browser.close()
    return path
