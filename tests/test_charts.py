"""The shared report charts keep their labels inside the picture."""

from __future__ import annotations

import re

from lamstudio._charts import accuracy_bars, scatter_chart


def test_a_full_bar_keeps_its_whole_label_inside_the_svg() -> None:
    svg = accuracy_bars({"simple_python": {"accuracy": 1.0, "correct": 400, "total": 400},
                         "multiple": {"accuracy": 0.5, "correct": 100, "total": 200}})
    width = float(re.search(r'<svg[^>]* width="(\d+)"', svg).group(1))
    labels = re.findall(r'<text x="([\d.]+)" y="[\d.]+" font-size="12">([^<]+)</text>', svg)
    assert [text for _, text in labels] == ["100.0% (400/400)", "50.0% (100/200)"]
    for x, text in labels:  # 12 px text: at most ~7 px a character
        assert float(x) + 7 * len(text) <= width, (x, text)


def _circles(svg: str) -> list[tuple[float, float]]:
    return [(float(x), float(y))
            for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg)]


def test_a_scatter_puts_larger_values_right_and_higher_on_a_log_axis() -> None:
    svg = scatter_chart({"model": [(105.5, 0.2, "q4_k_m"), (538.0, 0.3, "f32"),
                                   (144.8, 0.25, "q8_0")]},
                        "file size (MB)", "exact", log_x=True, y_max=1.0)
    (xa, ya), (xc, yc), (xb, yb) = _circles(svg)  # drawn in x order
    assert xa < xc < xb and ya > yc > yb  # SVG y grows downwards
    width = float(re.search(r'<svg[^>]* width="(\d+)"', svg).group(1))
    assert all(0 <= x <= width for x, _ in _circles(svg))
    assert ">100<" in svg and ">200<" in svg and ">500<" in svg  # 1-2-5 ticks of a log axis


def test_a_scatter_escapes_its_labels_and_skips_points_it_cannot_place() -> None:
    svg = scatter_chart({"<b>a&b</b>": [(0.0, 0.5, "<i>"), (float("nan"), 0.1, "x"),
                                        (10.0, 0.5, "ok")]}, "x", "y", log_x=True)
    assert "<b>" not in svg and "<i>" not in svg and "&lt;b&gt;a&amp;b" in svg
    assert len(_circles(svg)) == 1  # 0 has no log, NaN no place
    assert "empty" in scatter_chart({"a": [(0.0, 1.0, "zero")]}, "x", "y", log_x=True)
