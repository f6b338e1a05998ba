"""Every chart of lamstudio's HTML reports, in one place: inline SVG strings (no JavaScript,
no CDN, no image files), so a report can be mailed or opened offline."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from html import escape

_FONT = "font-family:system-ui,sans-serif;font-size:12px"
COLORS = {"blue": "#3b6fd1", "red": "#c8423b", "green": "#2f8f5b", "grey": "#7a7f87"}


def bar_chart(items: Sequence[tuple[str, int]], color: str = "blue", width: int = 560,
              bar_h: int = 18, label_w: int = 200) -> str:
    """Horizontal bars, one per (label, value), values printed at the bar's end."""
    if not items:
        return '<p class="empty">nothing to show</p>'
    top = max(v for _, v in items) or 1
    plot_w = width - label_w - 60
    h = len(items) * (bar_h + 6) + 6
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" '
           f'role="img" style="{_FONT}">']
    for i, (label, value) in enumerate(items):
        y = 6 + i * (bar_h + 6)
        w = max(1.0, plot_w * value / top)
        short = label if len(label) <= 30 else label[:29] + "…"
        out.append(f'<text x="{label_w - 6}" y="{y + bar_h - 5}" text-anchor="end">'
                   f'<title>{escape(label)}</title>{escape(short)}</text>')
        out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                   f'fill="{COLORS.get(color, color)}" rx="2"/>')
        out.append(f'<text x="{label_w + w + 5:.1f}" y="{y + bar_h - 5}">{value:,}</text>')
    out.append("</svg>")
    return "".join(out)


def histogram_bins(values: Sequence[float], max_bins: int = 20) -> list[tuple[float, float, int]]:
    """(low, high, count) bins; unit-width bins when the values are small integers."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if all(float(v).is_integer() for v in values) and hi - lo < max_bins:
        edges = [lo + i for i in range(int(hi - lo) + 2)]
    else:
        step = _nice_step((hi - lo) / max_bins if hi > lo else 1.0)
        start = math.floor(lo / step) * step
        n = max(1, math.ceil((hi - start) / step + 1e-9))
        if start + n * step <= hi:
            n += 1
        edges = [start + i * step for i in range(n + 1)]
    counts = [0] * (len(edges) - 1)
    width = edges[1] - edges[0]
    for v in values:
        counts[min(len(counts) - 1, int((v - edges[0]) // width))] += 1
    return [(edges[i], edges[i + 1], c) for i, c in enumerate(counts)]


def _nice_step(raw: float) -> float:
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def histogram(values: Sequence[float], xlabel: str, color: str = "blue", width: int = 560,
              height: int = 220, max_bins: int = 20) -> str:
    """Vertical-bar histogram with labelled x ticks and the tallest bar's count."""
    bins = histogram_bins(values, max_bins)
    if not bins:
        return '<p class="empty">nothing to show</p>'
    left, bottom, top_pad = 44, 40, 16
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    top = max(c for _, _, c in bins) or 1
    bw = plot_w / len(bins)
    unit = all(hi - lo == 1 and float(lo).is_integer() for lo, hi, _ in bins)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'role="img" style="{_FONT}">',
           f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" '
           f'y2="{top_pad + plot_h}" stroke="#999"/>',
           f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{top:,}</text>',
           f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end">0</text>']
    every = max(1, math.ceil(len(bins) / 10))
    for i, (lo, hi, c) in enumerate(bins):
        h = plot_h * c / top
        x = left + i * bw
        out.append(f'<rect x="{x + 1:.1f}" y="{top_pad + plot_h - h:.1f}" width="{bw - 2:.1f}" '
                   f'height="{h:.1f}" fill="{COLORS.get(color, color)}">'
                   f'<title>{_num(lo)}–{_num(hi)}: {c:,}</title></rect>')
        if i % every == 0:
            tick = _num(lo) if unit else f"{_num(lo)}"
            cx = x + bw / 2 if unit else x
            out.append(f'<text x="{cx:.1f}" y="{top_pad + plot_h + 14}" '
                       f'text-anchor="middle">{tick}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
               f'fill="#444">{escape(xlabel)}</text></svg>')
    return "".join(out)


def _num(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.1f}"


def accuracy_bars(categories: Mapping[str, Mapping[str, float]], width: int = 760) -> str:
    """One bar per category (``accuracy``, ``correct``, ``total``), coloured by level."""
    # The value label ("100.0% (400/400)", ~110 px at 12 px) sits right of the bar: keep room
    # for it at 100% so it is never clipped by the SVG's edge.
    row, label_w, label_room = 24, 200, 130
    plot_w = width - label_w - label_room
    height = row * len(categories) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'role="img" aria-label="accuracy per category">']
    for pct in (0, 25, 50, 75, 100):
        x = label_w + plot_w * pct / 100
        parts.append(f'<line x1="{x:.0f}" y1="0" x2="{x:.0f}" y2="{height - 20}" '
                     'stroke="#e4e7ec"/>'
                     f'<text x="{x:.0f}" y="{height - 5}" font-size="11" fill="#667085" '
                     f'text-anchor="middle">{pct}%</text>')
    for i, (cat, c) in enumerate(categories.items()):
        y = i * row + 4
        w = plot_w * c["accuracy"]
        color = "#12b76a" if c["accuracy"] >= 0.8 else "#f79009" if c["accuracy"] >= 0.5 \
            else "#f04438"
        parts.append(f'<text x="{label_w - 8}" y="{y + 14}" font-size="12" '
                     f'text-anchor="end">{escape(cat)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{max(w, 1):.1f}" height="{row - 8}" '
                     f'rx="3" fill="{color}"/>'
                     f'<text x="{label_w + w + 6:.1f}" y="{y + 14}" font-size="12">'
                     f'{c["accuracy"]:.1%} ({c["correct"]}/{c["total"]})</text>')
    parts.append("</svg>")
    return "".join(parts)


def meter(share: float, width: int = 220, color: str = "#7a5af8") -> str:
    """A one-line bar of ``share`` (0..1) of ``width``, for a table cell."""
    return (f"<svg width='{width}' height='12'><rect width='{width * share:.1f}' height='12' "
            f"rx='2' fill='{color}'/></svg>")


def loss_curve(steps: Sequence[int], losses: Sequence[float]) -> str:
    """The training loss curve (log scale) as an inline SVG string (matplotlib, no files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(list(steps), list(losses), linewidth=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (assistant tokens)")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prolog: the SVG sits inside HTML


def scatter_chart(series: Mapping[str, Sequence[tuple[float, float, str]]], xlabel: str,
                  ylabel: str, log_x: bool = False, y_max: float | None = None,
                  width: int = 640, height: int = 300) -> str:
    """Points (x, y, label) per named series, each series joined by a line in x order and
    given its own colour and legend entry; ``log_x`` for values that span orders of
    magnitude (file sizes). Labels sit beside their points; every value is in a tooltip."""
    points = [(x, y) for pts in series.values() for x, y, _ in pts if _usable(x, y, log_x)]
    if not points:
        return '<p class="empty">nothing to show</p>'
    left, right, top, bottom = 56, 180, 14, 40
    pw, ph = width - left - right, height - top - bottom
    fx = math.log10 if log_x else float
    us = [fx(x) for x, _ in points]
    pad = (max(us) - min(us)) * 0.06 or 0.5
    u0, u1 = min(us) - pad, max(us) + pad
    y1 = y_max if y_max is not None else 4 * _nice_step(max(y for _, y in points) * 1.05 / 4
                                                         or 0.25)

    def ux(u: float) -> float:  # plot units (log10 of x when log_x) -> pixels
        return left + pw * (u - u0) / (u1 - u0)

    def py(y: float) -> float:
        return top + ph * (1 - min(max(y, 0.0), y1) / y1)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'role="img" style="{_FONT}">']
    out += _scatter_axes((left, top, pw, ph), y1, [(ux(u), t) for u, t in
                                                   _x_ticks(u0, u1, log_x)], xlabel, ylabel,
                         height)
    palette = list(COLORS.values()) + ["#9b59b6", "#d98c1f"]
    for i, (name, pts) in enumerate(series.items()):
        color = palette[i % len(palette)]
        good = sorted((p for p in pts if _usable(p[0], p[1], log_x)), key=lambda p: p[0])
        if len(good) > 1:
            path = " ".join(f"{ux(fx(x)):.1f},{py(y):.1f}" for x, y, _ in good)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                       'stroke-opacity="0.5"/>')
        for x, y, label in good:
            cx, cy = ux(fx(x)), py(y)
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{color}">'
                       f'<title>{escape(name)} {escape(label)}: {_num(x)}, {y:.3g}</title>'
                       f'</circle><text x="{cx + 6:.1f}" y="{cy - 5:.1f}" font-size="10" '
                       f'fill="{color}">{escape(label)}</text>')
        ly = top + 14 + 16 * i
        out.append(f'<rect x="{left + pw + 12}" y="{ly - 9}" width="10" height="10" '
                   f'fill="{color}"/><text x="{left + pw + 26}" y="{ly}">'
                   f'<title>{escape(name)}</title>{escape(_short(name, 24))}</text>')
    out.append("</svg>")
    return "".join(out)


def _usable(x: float, y: float, log_x: bool) -> bool:
    return math.isfinite(x) and math.isfinite(y) and (x > 0 or not log_x)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def _x_ticks(u0: float, u1: float, log_x: bool) -> list[tuple[float, str]]:
    """Tick positions in plot units (log10 of the value when ``log_x``) with labels."""
    if not log_x:
        step = _nice_step((u1 - u0) / 6)
        start = math.ceil(u0 / step) * step
        return [(start + k * step, _num(start + k * step))
                for k in range(int((u1 - start) / step + 1e-9) + 1)]
    ticks = []
    for e in range(math.floor(u0), math.ceil(u1) + 1):
        for m in (1, 2, 5):
            if u0 <= math.log10(m) + e <= u1:
                ticks.append((math.log10(m) + e, _num(m * 10.0 ** e)))
    return ticks


def _scatter_axes(box: tuple[int, int, int, int], y1: float, ticks: list[tuple[float, str]],
                  xlabel: str, ylabel: str, height: int) -> list[str]:
    """Axes, horizontal grid lines at quarters of ``y1``, x ticks (pixel x, label)."""
    left, top, pw, ph = box
    out = [f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" '
           'stroke="#999"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#999"/>']
    for k in range(5):
        y = top + ph * (1 - k / 4)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" '
                   f'stroke="#eee"/><text x="{left - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{y1 * k / 4:.3g}</text>')
    for x, label in ticks:
        out.append(f'<line x1="{x:.1f}" y1="{top + ph}" x2="{x:.1f}" y2="{top + ph + 4}" '
                   f'stroke="#999"/><text x="{x:.1f}" y="{top + ph + 16}" '
                   f'text-anchor="middle">{label}</text>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" text-anchor="middle" '
               f'fill="#444">{escape(xlabel)}</text>'
               f'<text x="12" y="{top + ph / 2:.1f}" text-anchor="middle" fill="#444" '
               f'transform="rotate(-90 12 {top + ph / 2:.1f})">{escape(ylabel)}</text>')
    return out
