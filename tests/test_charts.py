"""The shared report charts keep their labels inside the picture."""

from __future__ import annotations

import re

from lamstudio._charts import accuracy_bars


def test_a_full_bar_keeps_its_whole_label_inside_the_svg() -> None:
    svg = accuracy_bars({"simple_python": {"accuracy": 1.0, "correct": 400, "total": 400},
                         "multiple": {"accuracy": 0.5, "correct": 100, "total": 200}})
    width = float(re.search(r'<svg[^>]* width="(\d+)"', svg).group(1))
    labels = re.findall(r'<text x="([\d.]+)" y="[\d.]+" font-size="12">([^<]+)</text>', svg)
    assert [text for _, text in labels] == ["100.0% (400/400)", "50.0% (100/200)"]
    for x, text in labels:  # 12 px text: at most ~7 px a character
        assert float(x) + 7 * len(text) <= width, (x, text)
