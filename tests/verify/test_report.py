"""``lamstudio report``: one self-contained, escaped HTML page with inline charts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.verify.conftest import record, write_dataset

from lamstudio._charts import histogram_bins
from lamstudio.verify import VerifyConfig, verify
from lamstudio.verify._report import build_report

SCRIPT = Path(__file__).parents[2] / "scripts" / "screenshot_report.sh"


@pytest.fixture
def report(tmp_path):
    data = write_dataset(tmp_path / "in.jsonl", 80)
    with open(data, "a") as fh:  # a record whose text would break unescaped HTML
        evil = record("<script>alert('x')</script> & <b>bold</b>?", rid="evil",
                      category="simple", final="</div><img src=x onerror=alert(1)>")
        fh.write(json.dumps(evil) + "\n")
    verify([data], tmp_path / "k.jsonl", config=VerifyConfig(stages=("format", "dedup")))
    out = tmp_path / "report.html"
    stats = build_report(tmp_path / "k.jsonl", out, rejects=tmp_path / "k.rejects.jsonl",
                         examples=3)
    return out, stats


def test_counts_charts_and_examples(report):
    out, stats = report
    html = out.read_text()
    assert stats["records"] + stats["rejects"] == 81
    assert stats["categories"] == {"(none)": stats["records"] - 1, "simple": 1}
    assert html.count("<svg") == 7
    for heading in ("Records per source", "Token length per record", "Tool usage",
                    "Rejection reasons", "Category: simple"):
        assert heading in html
    assert "approximate: regex count" in html, "the page says token counts are approximate"
    assert "format: IFN" in html and "dedup: exact_duplicate" in html


def test_everything_from_the_data_is_escaped_and_nothing_is_fetched(report):
    html = report[0].read_text()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "no external resources"
    assert "<link" not in html and "<script" not in html


def test_histogram_bins():
    assert histogram_bins([1, 1, 2, 4]) == [(1, 2, 2), (2, 3, 1), (3, 4, 0), (4, 5, 1)]
    bins = histogram_bins([0.5, 99.5, 1000.0], max_bins=10)
    assert sum(c for *_, c in bins) == 3 and bins[0][0] <= 0.5 and bins[-1][1] > 1000


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_renders_in_headless_chromium(report, tmp_path):
    png = tmp_path / "shot.png"
    subprocess.run([str(SCRIPT), str(report[0]), str(png), "1280,1600"], check=True,
                   timeout=120, capture_output=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_no_examples_heading_without_examples(tmp_path):
    data = tmp_path / "one.jsonl"
    data.write_text('{"id": "a", "messages": [{"role": "user", "content": "hi"}, '
                    '{"role": "assistant", "content": "hello"}]}\n')
    with_examples = tmp_path / "a.html"
    build_report(data, with_examples, examples=1)
    assert ">Examples</h2>" in with_examples.read_text()
    without = tmp_path / "b.html"
    build_report(data, without, examples=0)
    assert ">Examples</h2>" not in without.read_text()
