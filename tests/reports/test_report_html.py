"""The HTML page: self-contained, escaped, and — in a real Chromium — showing the charts."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import msgspec
from PIL import Image, ImageChops, ImageStat
from report_browser import Browser
from report_session import Session

from tradovate_api.reports import ReportData, build_report, render_charts, render_html

_IMAGES = ("Array.from(document.images).map(i => { const r = i.getBoundingClientRect();"
           " return {alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight,"
           " x: r.left + i.clientLeft, y: r.top + window.scrollY + i.clientTop,"
           " cw: i.clientWidth, ch: i.clientHeight}; })")
"""Each image of the page: its alt text, natural size and where it is drawn."""


def _rendered(data: ReportData, directory: Path) -> tuple[dict[str, bytes], Path]:
    """The report's charts, and its page written to ``directory``."""
    charts = render_charts(data)
    page_file = directory / "report.html"
    page_file.write_text(render_html(data, charts), encoding="utf-8")
    return charts, page_file


_IMG = re.compile(r'<img class="chart" alt="([^"]*)" src="data:image/png;base64,([^"]+)">')


def test_page_embeds_each_chart_as_a_data_uri_and_fetches_nothing(played: Session) -> None:
    data = build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms)
    charts = render_charts(data)
    page = render_html(data, charts)
    embedded = {alt: base64.b64decode(b64) for alt, b64 in _IMG.findall(page)}
    assert embedded == {"P&amp;L over time": charts["pnl.png"],
                        "Prices with entries and exits": charts["prices.png"]}
    without_uris = _IMG.sub("", page)
    assert "http://" not in without_uris
    assert "https://" not in without_uris
    assert "<script" not in page
    for text in ("+148.15", "50.0%", "pressure sell: ts_net=-380", "DEMO123", "ESZ6",
                 "5,001.25", "14.35"):
        assert text in page


def test_text_from_the_session_is_escaped(session: Session) -> None:
    session.at(0)
    session.quote(5000.0)
    session.market_order("Buy", 1, '<script>alert("x")</script> & <b>bold</b>')
    data = build_report(session.account, session.market, None, session.tickets,
                        now_ms=session.now_ms)
    page = render_html(data, {})
    assert "<script>" not in page
    assert "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page


async def test_a_browser_shows_both_charts_pixel_for_pixel(played: Session,
                                                           tmp_path: Path) -> None:
    data = build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms)
    charts, page_file = _rendered(data, tmp_path)

    async with Browser() as page:
        await page.open(page_file, 1100, 900)
        images = await page.evaluate(_IMAGES)
        title = await page.evaluate("document.title")
        headings = await page.evaluate(
            "Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
        shot = await page.screenshot()

    assert title.startswith("Periodic report")
    assert "Trades" in headings
    assert [i["alt"] for i in images] == ["P&L over time", "Prices with entries and exits"]
    screen = Image.open(io.BytesIO(shot)).convert("RGB")
    for image, png in zip(images, (charts["pnl.png"], charts["prices.png"]), strict=True):
        chart = Image.open(io.BytesIO(png)).convert("RGB")
        assert image["complete"]
        assert (image["w"], image["h"]) == chart.size  # decoded by the browser
        assert (image["cw"], image["ch"]) == chart.size  # shown at natural size
        x, y = round(image["x"]), round(image["y"])
        shown = screen.crop((x, y, x + chart.width, y + chart.height))
        colours = shown.getcolors(maxcolors=1 << 20)
        assert colours is not None
        assert len(colours) > 20  # a drawn chart, not a blank box
        # what the person sees is the chart (colour management may shift a level or two)
        assert max(ImageStat.Stat(ImageChops.difference(shown, chart)).mean) < 0.5
        assert max(ImageStat.Stat(ImageChops.difference(shown.transpose(
            Image.Transpose.FLIP_LEFT_RIGHT), chart)).mean) > 4.0  # the check can fail


async def test_cli_output_opens_in_the_browser(played: Session, tmp_path: Path) -> None:
    from tradovate_api.cli import main
    from tradovate_api.reports import ReportArchive

    data = build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms)
    saved = ReportArchive(tmp_path / "reports").save(data)
    output = tmp_path / "out.html"
    assert main(["report", "--input", str(saved), "--output", str(output)]) == 0
    async with Browser() as page:
        await page.open(output, 1100, 900)
        sizes = await page.evaluate(
            "Array.from(document.images).map(i => [i.complete, i.naturalWidth,"
            " i.naturalHeight])")
    assert len(sizes) == 2
    for complete, width, height in sizes:
        assert complete
        assert width == 1000
        assert height > 200
    assert msgspec.json.decode(saved.read_bytes())["kind"] == "periodic"


async def test_a_browser_shows_the_latency_histogram_once_orders_were_sent(
        played: Session, tmp_path: Path) -> None:
    stamps = {"frame_ns": 0, "decoded_ns": 4_000, "decided_ns": 10_000, "checked_ns": 30_000,
              "sent_ns": 50_000, "answered_ns": 250_000, "filled_ns": 400_000}
    for index, ticket in enumerate(played.tickets):
        for name, offset in stamps.items():
            type(ticket).__dict__[name].__set__(ticket, 1_000_000 * (index + 1) + offset)
    data = build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms)
    charts, page_file = _rendered(data, tmp_path)
    async with Browser() as page:
        await page.open(page_file, 1100, 900)
        images = await page.evaluate(_IMAGES)
        shot = await page.screenshot()
    assert [i["alt"] for i in images] == ["P&L over time", "Prices with entries and exits",
                                          "Order latency by stage"]
    histogram = images[2]
    chart = Image.open(io.BytesIO(charts["latency.png"])).convert("RGB")
    assert histogram["complete"]
    assert (histogram["w"], histogram["h"]) == chart.size
    screen = Image.open(io.BytesIO(shot)).convert("RGB")
    x, y = round(histogram["x"]), round(histogram["y"])
    shown = screen.crop((x, y, x + chart.width, y + chart.height))
    colours = shown.getcolors(maxcolors=1 << 20)
    assert colours is not None
    assert len(colours) > 20  # drawn, not blank
    assert max(ImageStat.Stat(ImageChops.difference(shown, chart)).mean) < 0.5


def test_a_trigger_written_as_json_reads_as_words(session: Session) -> None:
    """The reference strategy writes its reasons as JSON (the original's format, kept in the
    journal); the page and the e-mail show them as pairs, with the markup still escaped."""
    from tradovate_api.reports.notification import render_text

    session.at(0)
    session.quote(5000.0)
    session.market_order("Buy", 1, 'Large Trade {"price":5000.25,"size":450.0,'
                                    '"side":"Buy","note":"<b>"}')
    data = build_report(session.account, session.market, None, session.tickets,
                        now_ms=session.now_ms)
    page = render_html(data, {})
    assert "Large Trade (price 5000.25, size 450, side Buy, note &lt;b&gt;)" in page
    assert '{"price"' not in page
    assert "{&quot;price&quot;" not in page
    assert "entry: Large Trade (price 5000.25, size 450, side Buy, note <b>)" in \
        render_text(data)


def test_the_trigger_formatting_keeps_what_is_not_a_json_object() -> None:
    from tradovate_api.reports.format import trigger

    assert trigger("Unrealized Pnl = -512.5") == "Unrealized Pnl = -512.5"
    assert trigger('{"net":160.0,"threshold":150.0} {"net":50.0,"threshold":35.0}') == \
        "(net 160, threshold 150) (net 50, threshold 35)"
    assert trigger("half {open") == "half {open"
    assert trigger('a {"s":"x}y"} b') == "a (s x}y) b"
    assert trigger("{not json}") == "{not json}"
