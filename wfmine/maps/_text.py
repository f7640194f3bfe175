"""Text on a map: how wide a label renders, how it wraps, how source text is escaped.

Maps are sized in pixels so that labels fit their boxes; plotly cannot
measure text before the browser draws it, so widths are estimated from the
advance widths of the font the labels ask for first.

>>> text_px("Review", 12) > text_px("Rev", 12)
True
>>> wrap("Review and approve the request", 12, 100)
['Review and', 'approve the', 'request']
"""

from __future__ import annotations

import html
from typing import Final

__all__ = [
    "CAPTION_LINE",
    "CAPTION_SIZE",
    "EDGE_SIZE",
    "FONT",
    "LABEL_SIZE",
    "LINE",
    "MAX_LABEL_PX",
    "SUB_LINE",
    "SUB_SIZE",
    "esc",
    "text_px",
    "wrap",
]

FONT: Final = "Arial, 'Liberation Sans', Helvetica, sans-serif"
#: font sizes of a box label, the small line under it, an edge label, the caption
LABEL_SIZE: Final = 12
SUB_SIZE: Final = 10
EDGE_SIZE: Final = 10
CAPTION_SIZE: Final = 11
#: line heights, in pixels
LINE: Final = 15.0
SUB_LINE: Final = 13.0
CAPTION_LINE: Final = 15.0
#: a box label wraps beyond this width
MAX_LABEL_PX: Final = 150.0

# Advance widths of ASCII 32..126 in thousandths of an em, from the metrics of
# Liberation Sans (metric-compatible with Arial and Helvetica, the fonts the
# labels ask for first); one row per 16 code points, from 0x20.
# fmt: off
_ASCII_WIDTHS: Final = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
)
# fmt: on


def text_px(text: str, size: float) -> float:
    """Estimated rendered width of ``text`` at font ``size`` (slightly generous)."""
    total = 0
    for ch in text:
        code = ord(ch)
        if 32 <= code < 127:
            total += _ASCII_WIDTHS[code - 32]
        elif code >= 0x2E80:  # CJK and other wide scripts
            total += 1000
        else:
            total += 640
    return total * size / 1000.0 * 1.07


def wrap(text: str, size: float, max_px: float, max_lines: int = 3) -> list[str]:
    """``text`` broken into at most ``max_lines`` lines no wider than ``max_px``.

    Words wider than a line are cut; text beyond the last line ends in "…".
    """
    pieces: list[str] = []
    for word in text.split():
        while text_px(word, size) > max_px and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and text_px(word[:cut], size) > max_px:
                cut -= 1
            pieces.append(word[:cut])
            word = word[cut:]
        pieces.append(word)
    lines: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current} {piece}" if current else piece
        if current and text_px(candidate, size) > max_px:
            lines.append(current)
            current = piece
        else:
            current = candidate
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and text_px(last + "…", size) > max_px:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines or [""]


def esc(text: object) -> str:
    """Source text made safe for plotly's pseudo-HTML (shown as typed, never as markup)."""
    return html.escape(str(text), quote=False)
