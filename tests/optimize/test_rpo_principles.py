"""The optimizer's reply as principles, or the reason it cannot be used; the principles
file that --principles reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamstudio.optimize import PrinciplesError, parse_principles, read_principles


@pytest.mark.parametrize(("reply", "got"), [
    ('["Look up the order first.", "Confirm the outcome."]',
     ("Look up the order first.", "Confirm the outcome.")),
    ('Sure!\n```json\n["A  rule\\nwith   spaces."]\n```\nHope it helps.', ("A rule with spaces.",)),
    ('{"principles": ["One.", "One."]}', ("One.",)),  # a duplicate counts once
    (None, "optimizer_empty"), ("   ", "optimizer_empty"),
    ("I would keep them as they are.", "optimizer_no_json"),
    ('["a", 1e999]', "optimizer_bad_json"), ('{"rules": ["a"]}', "optimizer_not_a_list"),
    ('["a", ""]', "optimizer_not_strings"), ("[]", "optimizer_empty_list"),
    ('["a", "b", "c"]', "optimizer_too_many"), ('["' + "x" * 301 + '"]', "optimizer_too_long"),
])
def test_optimizer_replies(reply, got) -> None:
    assert parse_principles(reply, max_principles=2, max_chars=300) == got


def test_principles_files(tmp_path: Path) -> None:
    best = tmp_path / "best.json"
    best.write_text('{"principles": ["Be brief.", " "], "round": 2, "val_reward": 0.5}')
    assert read_principles(best) == ("Be brief.",)
    plain = tmp_path / "p.json"
    plain.write_bytes(b'\xef\xbb\xbf["Read before you write."]')  # a BOM is fine
    assert read_principles(plain) == ("Read before you write.",)
    plain.write_text('["x", NaN]')
    with pytest.raises(PrinciplesError, match=r"p\.json: not JSON .*non_finite_number"):
        read_principles(plain)
