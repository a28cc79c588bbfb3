"""Chart images for the emails and PDFs, drawn on the server (mail clients run no JavaScript).

matplotlib's object API on the Agg canvas (no pyplot, no global figure state: safe in a worker that
renders many cards), labels in the recipient's language with Debian's Noto CJK font
(``fonts-noto-cjk``). Every chart's numbers are also in a table beside it in the document. PNGs are
small (about 20-30 kB) and deterministic for the same numbers (no timestamp in the file).

A report card's trend chart is drawn on a background kept per process: the axes, ticks, grid and
title depend only on the months shown, the lower limit and the language, which the district's cards
of one month share; each card restores that background and draws its own lines, labels and legend on
it (matplotlib's blitting), a fifth of the time of building and laying out a figure per card, with
the same pixels.

The previews (``/bulletins/...``, ``/schools/<id>/report-cards/...``) and the mails draw the same charts
of the same immutable ranking snapshot again and again, so a finished chart is also kept per process for
its arguments in a small bounded cache (:func:`_drawn_once`): same numbers, same bytes.
"""

from __future__ import annotations

import functools
import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.image import imsave

FONT_FAMILIES = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
BAND_COLOURS = {"A": "#2e7d32", "B": "#7cb342", "C": "#f9a825", "D": "#c62828"}
PREVIOUS_COLOUR = "#b0bec5"
LINE_COLOUR = "#1b5e20"
MEAN_COLOUR = "#78909c"
DPI = 100
TREND_SIZE = (6.4, 2.6)
TREND_TOP = 100 + 4


@lru_cache(maxsize=1)
def _families() -> tuple[str, ...]:
    """The font families to ask for, CJK first.

    matplotlib knows the fonts listed in its cache (``~/.cache/matplotlib/fontlist-*.json``), written
    the first time it runs on a machine; a CJK font package installed after that is unknown to it and
    every Chinese label comes out as boxes (seen on the benchmark machine). Then the face fontconfig
    gives for Noto Sans CJK SC is registered for this process."""
    available = {f.name for f in fontManager.ttflist}
    if not any(name in available for name in FONT_FAMILIES[:-1]):
        from service.bulletins.fonts import locate

        face = locate("regular")
        if face is not None:
            fontManager.addfont(face.path)  # every face of a .ttc collection
            available = {f.name for f in fontManager.ttflist}
    return tuple(f for f in FONT_FAMILIES if f in available) or ("sans-serif",)


def preload() -> None:
    """matplotlib's font list, the CJK face registered if needed, and the Agg backend, imported."""
    _families()


def _font() -> FontProperties:
    return FontProperties(family=list(_families()), size=10)


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    # No Software/creation-time metadata: the same numbers give the same bytes.
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _style(ax, font: FontProperties) -> None:  # type: ignore[no-untyped-def]
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        label.set_fontproperties(font)
    ax.tick_params(colors="#37474f")


CACHED_CHARTS = 256  # at ~25 kB a chart: a few MB per process at most

F = TypeVar("F", bound=Callable[..., bytes])


def _frozen(value: Any) -> Any:
    """A hashable stand-in for a chart argument (dicts keep their order: it is the bars' order)."""
    if isinstance(value, dict):
        return ("dict", tuple((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("seq", tuple(_frozen(v) for v in value))
    return value


def _drawn_once(fn: F) -> F:
    """Cache ``fn``'s PNG by its arguments (least recently used out beyond :data:`CACHED_CHARTS`); the
    charts are pure functions of their arguments, so a hit is byte-identical to drawing it again."""
    cache: OrderedDict[Any, bytes] = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> bytes:
        key = (_frozen(args), _frozen(sorted(kwargs.items())))
        with lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        png = fn(*args, **kwargs)
        with lock:
            cache[key] = png
            while len(cache) > CACHED_CHARTS:
                cache.popitem(last=False)
        return png

    wrapper.cache_clear = cache.clear  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


@_drawn_once
def band_chart(
    bands: dict[str, int],
    previous: dict[str, int] | None,
    *,
    title: str,
    this_label: str,
    previous_label: str,
    y_label: str,
) -> bytes:
    """Schools per band (A-D) this period, beside the previous period's when there is one."""
    font = _font()
    fig = Figure(figsize=(6.4, 2.6))
    ax = fig.add_subplot()
    names = list(bands)
    xs = range(len(names))
    width = 0.38 if previous else 0.6
    offset = width / 2 if previous else 0
    if previous:
        prev_bars = ax.bar(
            [x - offset for x in xs],
            [previous.get(n, 0) for n in names],
            width,
            color=PREVIOUS_COLOUR,
            label=previous_label,
        )
        ax.bar_label(prev_bars, fontproperties=font, color="#546e7a", padding=2)
    bars = ax.bar(
        [x + offset for x in xs],
        [bands[n] for n in names],
        width,
        color=[BAND_COLOURS.get(n, LINE_COLOUR) for n in names],
        label=this_label,
    )
    ax.bar_label(bars, fontproperties=font, padding=2)
    ax.set_xticks(list(xs), names)
    ax.set_ylabel(y_label, fontproperties=font)
    ax.set_title(title, fontproperties=font, loc="left", color="#263238")
    top = max([*bands.values(), *(previous or {}).values(), 1])
    ax.set_ylim(0, top * 1.25 + 0.5)
    ax.yaxis.get_major_locator().set_params(integer=True)
    if previous:
        ax.legend(prop=font, frameon=False, loc="upper right")
    _style(ax, font)
    fig.tight_layout()
    return _png(fig)


@dataclass
class _Background:
    """A trend chart without its data: the figure, its axes and the drawn pixels to start each card from."""

    figure: Figure
    axes: Any
    pixels: Any
    lock: threading.Lock


@lru_cache(maxsize=16)
def _trend_background(keys: tuple[str, ...], bottom: float, title: str) -> _Background:
    font = _font()
    fig = Figure(figsize=TREND_SIZE, dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = list(range(len(keys)))
    ax.set_ylim(bottom, TREND_TOP)
    ax.set_xticks(xs, list(keys))
    ax.set_xlim(-0.5, max(len(keys) - 0.5, 0.5))
    ax.set_title(title, fontproperties=font, loc="left", color="#263238")
    ax.grid(axis="y", color="#eceff1")
    _style(ax, font)
    fig.tight_layout()
    canvas.draw()
    return _Background(fig, ax, canvas.copy_from_bbox(fig.bbox), threading.Lock())


@_drawn_once
def trend_chart(
    keys: Sequence[str],
    scores: Sequence[float | None],
    means: Sequence[float | None],
    *,
    title: str,
    score_label: str,
    mean_label: str,
) -> bytes:
    """A school's monthly composite (and the district mean where a bulletin published one).

    Drawn in the order a full draw uses (lines, then their labels, then the legend) on the shared
    background; the card's artists are removed again before the lock is released."""
    xs = list(range(len(keys)))
    pts = [(x, s) for x, s in zip(xs, scores, strict=True) if s is not None]
    mpts = [(x, m) for x, m in zip(xs, means, strict=True) if m is not None]
    values = [v for _x, v in pts + mpts]
    low = min(values) if values else 60.0
    background = _trend_background(tuple(keys), max(0.0, min(low - 8, 60.0)), title)
    font = _font()
    with background.lock:
        ax, canvas = background.axes, background.figure.canvas
        canvas.restore_region(background.pixels)
        lines, labels = [], []
        if pts:
            lines += ax.plot(
                [p[0] for p in pts], [p[1] for p in pts], marker="o", color=LINE_COLOUR, label=score_label
            )
            for x, s in pts:
                labels.append(
                    ax.annotate(
                        f"{s:.1f}",
                        (x, s),
                        textcoords="offset points",
                        xytext=(0, 6),
                        ha="center",
                        fontproperties=font,
                        color=LINE_COLOUR,
                    )
                )
        if mpts:
            lines += ax.plot(
                [p[0] for p in mpts],
                [p[1] for p in mpts],
                linestyle="--",
                marker=".",
                color=MEAN_COLOUR,
                label=mean_label,
            )
        legend = ax.legend(prop=font, frameon=False, loc="lower left") if lines else None
        drawn = [*lines, *labels, *([legend] if legend else [])]
        try:
            for artist in drawn:
                ax.draw_artist(artist)
            out = io.BytesIO()
            # What savefig(format="png") writes, without drawing the whole figure again.
            imsave(
                out,
                np.asarray(canvas.buffer_rgba()),
                format="png",
                origin="upper",
                dpi=DPI,
                metadata={"Software": None},
            )
        finally:
            for artist in drawn:
                artist.remove()
    return out.getvalue()
