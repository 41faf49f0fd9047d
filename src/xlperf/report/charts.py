"""Score charts (得分图): score against maximum for every indicator, as PNG for Word and SVG for HTML.

One horizontal bar per indicator: the pale bar is the 分值 (maximum), the dark bar over it is the
得分, drawn to one scale so a 7-point item is longer than a 2-point one.  Items that lost points
are drawn in red.

Word needs raster images.  No CJK font ships with Python and none may be installed (CI has none),
so the PNG labels each bar with its number in the chart (``1``, ``2`` …) — the caption gives the
Chinese names — unless a CJK font is found on the machine (Windows 宋体/黑体/微软雅黑, macOS
PingFang/Songti, Noto CJK/文泉驿 on Linux) or named by ``XLPERF_CHART_FONT`` (a font file; ``none``
turns the search off).  HTML charts are inline SVG with the Chinese names; the browser's fonts draw them.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from isal import isal_zlib
from markupsafe import Markup, escape

from ..core.evaluate import Evaluation, NodeScore
from ..core.numbers import fmt_score

if TYPE_CHECKING:
    from PIL import Image, ImageFont

SCORE_COLOUR = "#2f5597"
LOST_COLOUR = "#c00000"
MAX_COLOUR = "#dde3ec"
GRID_COLOUR = "#b7c0cc"
TEXT_COLOUR = "#222222"
WHITE = "#ffffff"

_FONT_CANDIDATES = (
    # Windows
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
    "C:/Windows/Fonts/simfang.ttf",
    # macOS
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/System/Library/Fonts/Supplemental/Songti.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    # Linux (Debian/Ubuntu/Fedora package paths)
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a chart (柱): an indicator's code, name, 分值 and 得分."""

    code: str
    name: str
    maximum: float
    score: float

    @property
    def lost(self) -> bool:
        """True when points were deducted (扣分)."""
        return self.score < self.maximum - 0.005

    @property
    def value_text(self) -> str:
        """``得分 / 分值`` as printed next to the bar."""
        return f"{fmt_score(self.score)} / {fmt_score(self.maximum)}"


def _bar(node: NodeScore) -> Bar:
    return Bar(
        node.code, node.name, max(node.maximum, 0.0), min(max(node.score, 0.0), max(node.maximum, 0.0))
    )


def overview_bars(ev: Evaluation) -> list[Bar]:
    """One bar per 一级指标 (一级指标得分)."""
    return [_bar(node) for node in ev.roots]


def section_bars(ev: Evaluation, root_code: str) -> list[Bar]:
    """One bar per scored indicator (末级指标) under the 一级指标 ``root_code``."""
    prefix = f"{root_code}."
    return [_bar(node) for node in ev.leaves if node.code.startswith(prefix) or node.code == root_code]


def trend_bars(ev: Evaluation) -> list[Bar]:
    """One bar per year, last year first (历年得分): the total against the rubric's full marks."""
    from ..core.previous import trend_points

    full = sum(node.maximum for node in ev.roots) or 100.0
    return [
        Bar(p.year, f"{p.year}年度（{p.grade}）", full, min(max(p.total, 0.0), full))
        for p in trend_points(ev)
        if p.total is not None
    ]


def find_cjk_font() -> str | None:
    """A font file that can draw Chinese labels (中文字体), or None; ``XLPERF_CHART_FONT`` overrides."""
    chosen = os.environ.get("XLPERF_CHART_FONT", "").strip()
    if chosen:
        if chosen.lower() == "none":
            return None
        return chosen if Path(chosen).is_file() else None
    return _installed_cjk_font(os.environ.get("WINDIR"))


@lru_cache(maxsize=2)
def _installed_cjk_font(windir: str | None) -> str | None:
    """The first of the usual CJK font files present (looked for once per process, not per report)."""
    candidates = list(_FONT_CANDIDATES)
    if windir:
        candidates = [c.replace("C:/Windows", windir.replace("\\", "/")) for c in candidates]
    return next((c for c in candidates if Path(c).is_file()), None)


def _label(bar: Bar, number: int, with_names: bool, limit: int = 16) -> str:
    if not with_names:
        return str(number)
    return bar.name if len(bar.name) <= limit else bar.name[: limit - 1] + "…"


def chart_key(bars: Sequence[Bar]) -> str:
    """The caption note naming each bar of a chart drawn without a CJK font (图例): ``1 绩效目标科学性、2 …``."""
    return "、".join(f"{n} {bar.name}" for n, bar in enumerate(bars, 1))


def _ticks(top: float) -> list[float]:
    """Grid values from 0 to ``top`` in steps of 1, 2, 5, 10 … (刻度)."""
    if top <= 0:
        return [0.0]
    for step in (0.5, 1, 2, 5, 10, 20, 25, 50):
        if top / step <= 6:
            break
    count = int(top / step + 1e-9)
    return [round(i * step, 2) for i in range(count + 1)]


@lru_cache(maxsize=8)
def _font(font_path: str | None, size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """The label font and whether it draws Chinese (a CJK font file loaded once per size)."""
    from PIL import ImageFont

    if font_path:
        try:
            return ImageFont.truetype(font_path, size), True
        except OSError:
            pass
    return ImageFont.load_default(size=size), False


# The PNG is drawn straight onto a 16-colour palette, so there is nothing to quantize and, at 4 bits a
# pixel, half the bytes to compress: the solid colours, then the antialiasing shades of each text colour
# over white (more for the body text colour than for the red of lost points).
_SOLID_COLOURS = (WHITE, GRID_COLOUR, MAX_COLOUR, SCORE_COLOUR, LOST_COLOUR, TEXT_COLOUR)
_TEXT_SHADES = {TEXT_COLOUR: 6, LOST_COLOUR: 4}
_ROW_FILTER = 2  # spare pixels in front of each canvas row: at 4 bits a pixel, the PNG filter byte


@lru_cache(maxsize=1)
def _palette() -> tuple[list[int], dict[str, list[int]]]:
    """The chart palette (调色板) as flat RGB values, and per text colour a coverage → palette index table."""
    from PIL import ImageColor

    colours: list[tuple[int, ...]] = [ImageColor.getrgb(c)[:3] for c in _SOLID_COLOURS]
    tables = {}
    for colour, shades in _TEXT_SHADES.items():
        ink, first = ImageColor.getrgb(colour)[:3], len(colours)
        colours += [
            tuple(round(255 + (c - 255) * n / (shades + 1)) for c in ink) for n in range(1, shades + 1)
        ]
        full = _SOLID_COLOURS.index(colour)
        levels = (round(a * (shades + 1) / 255) for a in range(256))
        tables[colour] = [0 if n == 0 else full if n > shades else first + n - 1 for n in levels]
    return [v for rgb in colours for v in rgb], tables


@lru_cache(maxsize=4096)
def _text_width(text: str, font_path: str | None, size: int) -> float:
    """Advance width of ``text`` in pixels (文字宽度)."""
    return _font(font_path, size)[0].getlength(text)


@lru_cache(maxsize=2048)
def _text_tile(
    text: str, font_path: str | None, size: int, colour: str, anchor: str
) -> tuple[Image.Image, int, int]:
    """``text`` drawn once, antialiased in ``colour`` over white (palette indices), and its offset from ``anchor``."""
    from PIL import Image, ImageDraw

    font = _font(font_path, size)[0]
    x0, y0, x1, y1 = (int(v) for v in font.getbbox(text, anchor=anchor))  # whole pixels
    coverage = Image.new("L", (max(x1 - x0, 1), max(y1 - y0, 1)), 0)
    ImageDraw.Draw(coverage).text((-x0, -y0), text, fill=255, font=font, anchor=anchor)
    return Image.frombytes("P", coverage.size, coverage.point(_palette()[1][colour]).tobytes()), x0, y0


def chart_png(bars: Sequence[Bar], *, font_path: str | None = None, width: int = 1100) -> bytes:
    """Draw ``bars`` as a PNG (得分图) ``width`` pixels wide; labels are names, or numbers without a CJK font.

    The same bars give the same picture, drawn once: in a batch many units score a section alike
    (every item full marks), and the rubric's names are everyone's."""
    return _chart_png(tuple(bars), font_path, width)


@lru_cache(maxsize=64)  # a picture is 10-30 KB
def _chart_png(bars: tuple[Bar, ...], font_path: str | None, width: int) -> bytes:
    from PIL import Image, ImageDraw

    scale = width / 800
    size = round(19 * scale)
    with_names = _font(font_path, size)[1]
    labels = [_label(b, n, with_names) for n, b in enumerate(bars, 1)]
    values = [b.value_text for b in bars]

    def text_width(text: str) -> float:
        return _text_width(text, font_path, size) if text else 0.0

    def put_text(x: float, y: float, text: str, colour: str, anchor: str) -> None:
        # Texts stand on white paper, so the tile's white box can be pasted as it is (no mask).
        tile, dx, dy = _text_tile(text, font_path, size, colour, anchor)
        image.paste(tile, (round(x) + dx, round(y) + dy))

    pad = round(12 * scale)
    label_w = max((text_width(t) for t in labels), default=0) + pad
    value_w = max((text_width(t) for t in values), default=0) + pad
    row_h, bar_h = round(34 * scale), round(20 * scale)
    axis_h = round(32 * scale)
    height = pad + row_h * max(len(bars), 1) + axis_h + pad
    # The canvas has _ROW_FILTER spare white columns in front, which _png turns into the rows' filter bytes.
    left = _ROW_FILTER + pad + label_w
    right = _ROW_FILTER + width - pad - value_w
    top_value = max((b.maximum for b in bars), default=1.0) or 1.0
    ticks = _ticks(top_value)
    span = max(ticks[-1], top_value)

    def x_of(value: float) -> float:
        return left + (right - left) * (value / span)

    ink = {colour: index for index, colour in enumerate(_SOLID_COLOURS)}
    image = Image.new("P", (_ROW_FILTER + width, height), ink[WHITE])
    draw = ImageDraw.Draw(image)
    bottom = pad + row_h * max(len(bars), 1)
    for tick in ticks:
        x = round(x_of(tick))
        draw.line([(x, pad), (x, bottom)], fill=ink[GRID_COLOUR], width=max(1, round(scale / 2)))
        text = fmt_score(tick)
        put_text(x - text_width(text) / 2, bottom + round(5 * scale), text, TEXT_COLOUR, "la")
    for index, (bar, label, value) in enumerate(zip(bars, labels, values, strict=True)):
        y = pad + index * row_h + (row_h - bar_h) // 2
        colour = LOST_COLOUR if bar.lost else SCORE_COLOUR
        draw.rectangle([left, y, x_of(bar.maximum), y + bar_h], fill=ink[MAX_COLOUR])
        if bar.score > 0:
            draw.rectangle([left, y, x_of(bar.score), y + bar_h], fill=ink[colour])
        text_y = y + bar_h / 2
        put_text(_ROW_FILTER + pad, text_y, label, TEXT_COLOUR, "lm")
        put_text(right + pad / 2, text_y, value, LOST_COLOUR if bar.lost else TEXT_COLOUR, "lm")
    draw.line([(left, pad), (left, bottom)], fill=ink[TEXT_COLOUR], width=max(1, round(scale)))
    return _png(image, dpi=round(96 * scale))


def _png(canvas: Image.Image, dpi: int) -> bytes:
    """``canvas`` (16-colour palette) as PNG bytes: 4 bits a pixel, unfiltered rows, fast deflate, dpi (pHYs).

    The canvas's first _ROW_FILTER columns are set to index 0 and so pack into each row's filter byte 0
    ("none").  Written here because Pillow's row-by-row PNG encoder takes twice as long for the same bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    width, height = canvas.width - _ROW_FILTER, canvas.height
    canvas.paste(0, (0, 0, _ROW_FILTER, height))  # in case a glyph reached past the left margin
    per_metre = round(dpi / 0.0254)
    # ISA-L's fastest level: as small as zlib's run-length matching for these flat colours, 7x as fast
    deflate = isal_zlib.compressobj(0, isal_zlib.DEFLATED, 15)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 4, 3, 0, 0, 0)),
            chunk(b"PLTE", bytes(_palette()[0])),
            chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
            chunk(b"IDAT", deflate.compress(canvas.tobytes("raw", "P;4")) + deflate.flush()),
            chunk(b"IEND", b""),
        )
    )


def chart_svg(bars: Sequence[Bar], *, title: str = "") -> Markup:
    """Draw ``bars`` as inline SVG (矢量得分图) with Chinese names; every text is escaped.

    Like the PNG, the same bars and title give the same drawing, made once."""
    return _chart_svg(tuple(bars), title)


@lru_cache(maxsize=64)
def _chart_svg(bars: tuple[Bar, ...], title: str) -> Markup:
    width, row_h, bar_h, pad, label_w, value_w, axis_h = 720, 28, 15, 8, 250, 70, 22
    left, right = pad + label_w, width - pad - value_w
    top_value = max((b.maximum for b in bars), default=1.0) or 1.0
    ticks = _ticks(top_value)
    span = max(ticks[-1], top_value)
    bottom = pad + row_h * max(len(bars), 1)
    height = bottom + axis_h

    def x_of(value: float) -> float:
        return round(left + (right - left) * (value / span), 1)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for tick in ticks:
        x = x_of(tick)
        parts.append(f'<line class="grid" x1="{x}" y1="{pad}" x2="{x}" y2="{bottom}"/>')
        parts.append(
            f'<text class="tick" x="{x}" y="{bottom + 16}" text-anchor="middle">{fmt_score(tick)}</text>'
        )
    for index, bar in enumerate(bars):
        y = pad + index * row_h + (row_h - bar_h) / 2
        mid = y + bar_h / 2 + 5
        name = bar.name if len(bar.name) <= 15 else bar.name[:14] + "…"
        parts.append(
            f'<g class="bar{" lost" if bar.lost else ""}"><title>{escape(bar.code)} {escape(bar.name)}：'
            f"{escape(bar.value_text)}</title>"
            f'<text class="label" x="{left - 6}" y="{mid}" text-anchor="end">{escape(name)}</text>'
            f'<rect class="max" x="{left}" y="{y}" width="{x_of(bar.maximum) - left}" height="{bar_h}"/>'
            f'<rect class="score" x="{left}" y="{y}" width="{max(x_of(bar.score) - left, 0)}" height="{bar_h}"/>'
            f'<text class="value" x="{right + 6}" y="{mid}">{escape(bar.value_text)}</text></g>'
        )
    parts.append(f'<line class="axis" x1="{left}" y1="{pad}" x2="{left}" y2="{bottom}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
