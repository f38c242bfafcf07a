"""Charts: valid, non-trivial PNGs that show the data; no global matplotlib state; safe to
render from several threads at once."""

from __future__ import annotations

import io
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import msgspec
from PIL import Image
from report_session import Session

from tradovate_api.reports import ReportData, build_report, render_charts
from tradovate_api.reports.charts import pnl_chart, price_chart

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BLUE = (0x09, 0x69, 0xDA)
"""The P&L and price line colour."""


def _decode(png: bytes) -> Image.Image:
    assert png.startswith(PNG_MAGIC)
    image = Image.open(io.BytesIO(png))
    image.load()  # decodes every row: a truncated file raises here
    assert image.format == "PNG"
    return image.convert("RGB")


def _near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


def _report(played: Session) -> ReportData:
    return build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms)


def test_every_chart_is_a_decodable_png_with_drawn_content(played: Session) -> None:
    charts = render_charts(_report(played))
    assert set(charts) == {"pnl.png", "prices.png"}
    for name, png in charts.items():
        image = _decode(png)
        assert image.width == 1000, name
        assert image.height >= 300, name
        assert len(png) > 10_000, name
        colours = image.getcolors(maxcolors=1 << 20)
        assert colours is not None
        assert len(colours) > 50, name  # anti-aliased lines, text, markers
        blue = sum(count for count, rgb in colours if _near(rgb, BLUE))
        assert blue > 300, f"{name}: the data line is missing"


def test_price_chart_marks_entries_and_exits(played: Session) -> None:
    data = _report(played)
    with_fills = _decode(price_chart(data))
    series = data.price_series[0]
    without = msgspec.structs.replace(data, price_series=(
        msgspec.structs.replace(series, fills=()),))
    no_markers = _decode(price_chart(without))
    green = (0x1A, 0x7F, 0x37)  # buy entry marker
    count = [sum(n for n, rgb in img.getcolors(maxcolors=1 << 20) or () if _near(rgb, green, 30))
             for img in (with_fills, no_markers)]
    assert count[0] > 50
    assert count[1] == 0


def test_charts_of_an_empty_report_still_render(session: Session) -> None:
    data = build_report(session.account, session.market, now_ms=session.now_ms)
    for png in (pnl_chart(data), price_chart(data)):
        image = _decode(png)
        assert image.size[0] == 1000


def test_no_pyplot_and_no_figures_left_behind(played: Session) -> None:
    render_charts(_report(played))
    assert "matplotlib.pyplot" not in sys.modules
    from matplotlib import _pylab_helpers

    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_concurrent_renders_from_threads_match_serial_ones(played: Session) -> None:
    data = _report(played)
    serial = render_charts(data)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: render_charts(data), range(6)))
    for result in results:
        assert {k: _decode(v).tobytes() for k, v in result.items()} == {
            k: _decode(v).tobytes() for k, v in serial.items()}


def test_rendering_is_fast(played: Session) -> None:
    data = _report(played)
    render_charts(data)  # first call pays the imports and the font cache
    started = time.perf_counter()
    for _ in range(3):
        render_charts(data)
    per_report = (time.perf_counter() - started) / 3
    print(f"charts per report: {per_report * 1000:.0f} ms")
    assert per_report < 2.0  # generous for a shared 2-core machine; ~0.2 s unloaded
