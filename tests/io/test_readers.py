"""Streaming readers: every row comes with file and line; damage is reported, not fatal."""

import gzip
import json
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lamstudio.io import (
    BadRow,
    InputError,
    Row,
    check_input,
    is_plain_jsonl,
    jsonl_ranges,
    read_jsonl_range,
    read_raw_rows,
    read_rows,
)


def rows(path, **kw):
    return list(read_rows(path, **kw))


def test_jsonl_rows_carry_file_and_line(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text('{"a": 1}\n\n{"a": 2}\n')
    assert rows(p) == [Row(str(p), 1, {"a": 1}), Row(str(p), 3, {"a": 2})]


def test_truncated_line_is_a_bad_row_and_the_rest_is_kept(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text('{"a": 1}\n{"a": \n{"a": 3}\n')
    out = rows(p)
    assert [type(r) for r in out] == [Row, BadRow, Row]
    assert (out[1].line, out[1].code) == (2, "bad_json")
    assert out[2].value == {"a": 3}


def test_utf8_bom_and_crlf_are_accepted(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'\xef\xbb\xbf{"a": "\xc3\xa9"}\r\n{"a": 2}\r\n')
    assert [r.value for r in rows(p)] == [{"a": "é"}, {"a": 2}]


def test_invalid_utf8_in_one_line_is_rejected_alone(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"a": 1}\n{"a": "\xff\xfe"}\n' + b'{"a": 3}\n' * 2000)
    out = rows(p)
    assert out[1].code == "bad_encoding" and len(out) == 2002


@pytest.mark.parametrize("content", [b"", b"\n  \n", b"\xef\xbb\xbf[ ]\n"])
def test_empty_file_is_one_clear_error_unless_allowed(tmp_path, content):
    p = tmp_path / "empty.jsonl"
    p.write_bytes(content)
    with pytest.raises(InputError, match=r"empty.jsonl: is empty, no records to read"):
        rows(p)
    assert list(read_rows(p, allow_empty=True)) == []


def test_empty_gzip_and_parquet_are_empty_too(tmp_path):
    gz = tmp_path / "e.jsonl.gz"
    gz.write_bytes(gzip.compress(b"\n"))
    pq.write_table(pa.table({"id": pa.array([], pa.string())}), tmp_path / "e.parquet")
    for p in (gz, tmp_path / "e.parquet"):
        with pytest.raises(InputError, match="is empty"):
            check_input(p)
    (tmp_path / "one.jsonl").write_text("{}\n")
    assert check_input(tmp_path / "one.jsonl") == tmp_path / "one.jsonl"


def test_binary_file_is_one_clear_error(tmp_path):
    p = tmp_path / "model.jsonl"
    p.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(InputError, match="binary file"):
        rows(p)


def test_missing_file_and_directory_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        rows(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="directory"):
        rows(tmp_path)


def test_over_long_line_is_rejected_without_buffering_it(tmp_path):
    p = tmp_path / "big.jsonl"
    big = '{"a": "' + "x" * (50 * 1024 * 1024) + '"}'
    p.write_text('{"a": 1}\n' + big + '\n{"a": 3}\n')
    tracemalloc.start()
    out = rows(p, max_line_bytes=1024 * 1024)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [getattr(r, "code", None) for r in out] == [None, "line_too_long", None]
    assert out[1].line == 2 and "52,428,809 bytes" in out[1].message
    assert peak < 8 * 1024 * 1024  # the 50 MB line was never held


def test_a_50mb_line_under_the_limit_is_read(tmp_path):
    p = tmp_path / "big.jsonl"
    p.write_text('{"a": "' + "y" * (50 * 1024 * 1024) + '"}\n')
    [row] = rows(p, max_line_bytes=64 * 1024 * 1024)
    assert len(row.value["a"]) == 50 * 1024 * 1024


def test_gzip_is_detected_by_content(tmp_path):
    p = tmp_path / "a.jsonl.gz"
    with gzip.open(p, "wt") as fh:
        fh.write('{"a": 1}\n{"a": 2}\n')
    assert [r.value for r in rows(p)] == [{"a": 1}, {"a": 2}]


def test_json_array_is_streamed_with_line_numbers(tmp_path):
    p = tmp_path / "a.json"
    p.write_text('[\n  {"a": 1},\n  {"a": [1,\n 2]},\n  3\n]\n')
    out = rows(p)
    assert [(r.line, r.value) for r in out] == [(2, {"a": 1}), (3, {"a": [1, 2]}), (5, 3)]


def test_pretty_printed_concatenated_objects(tmp_path):
    p = tmp_path / "a.json"
    p.write_text(json.dumps({"a": 1}, indent=2) + "\n" + json.dumps({"a": 2}, indent=2))
    assert [r.value for r in rows(p)] == [{"a": 1}, {"a": 2}]


def test_truncated_json_array_keeps_what_was_complete(tmp_path):
    p = tmp_path / "a.json"
    p.write_text('[{"a": 1}, {"a": 2}, {"a": ')
    out = rows(p)
    assert [r.value for r in out[:2]] == [{"a": 1}, {"a": 2}]
    assert out[2].code == "bad_json"


def test_parquet_rows_are_numbered(tmp_path):
    p = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist([{"a": 1}, {"a": 2}]), p)
    assert [(r.line, r.value) for r in rows(p)] == [(1, {"a": 1}), (2, {"a": 2})]


@pytest.mark.parametrize("kind", ["jsonl", "array"])
def test_memory_stays_constant_in_the_file_size(tmp_path, kind):
    line = json.dumps({"id": "x", "messages": [{"role": "user", "content": "z" * 500}]})
    p = tmp_path / ("a.jsonl" if kind == "jsonl" else "a.json")
    n = 40_000  # ~21 MB
    with open(p, "w") as fh:
        if kind == "jsonl":
            fh.writelines(line + "\n" for _ in range(n))
        else:
            fh.write("[" + ",\n".join(line for _ in range(n)) + "]")
    tracemalloc.start()
    count = sum(1 for _ in read_rows(p))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == n
    size_mb = p.stat().st_size / 1e6
    assert peak < 6 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for a {size_mb:.0f} MB file"


# -- hostile rows (issue 15, items 1-3) -----------------------------------------------
GOOD = '{"a": 1}'
HOSTILE = {
    "too_deep": '{"x": ' + "[" * 10_000 + "]" * 10_000 + "}",
    "number_too_large": '{"x": ' + "1" * 5000 + "}",
    "bad_encoding": '{"x": "\\ud800"}',
    "non_finite_number": '{"x": NaN}',
}


@pytest.mark.parametrize("code", sorted(HOSTILE))
def test_a_hostile_line_is_one_bad_row_with_its_code(tmp_path, code):
    p = tmp_path / "a.jsonl"
    p.write_text("\n".join([GOOD, HOSTILE[code], GOOD]) + "\n")
    out = rows(p)
    assert [type(r) for r in out] == [Row, BadRow, Row]
    assert (out[1].line, out[1].code) == (2, code)


@pytest.mark.parametrize("code", sorted(HOSTILE))
def test_a_hostile_array_element_is_one_bad_row_with_its_code(tmp_path, code):
    p = tmp_path / "a.json"
    p.write_text("[\n" + ",\n".join([GOOD, HOSTILE[code], GOOD]) + "\n]\n")
    out = rows(p)
    assert [type(r) for r in out] == [Row, BadRow, Row]
    assert (out[1].line, out[1].code) == (3, code)


@pytest.mark.parametrize("literal", ["1e999", "-1e999", "Infinity", "-Infinity", "NaN"])
def test_non_finite_numbers_are_rejected_not_written_as_null(tmp_path, literal):
    p = tmp_path / "a.jsonl"
    p.write_text(f'{{"x": {literal}}}\n')
    assert rows(p)[0].code == "non_finite_number"


@pytest.mark.parametrize("n", ["123456789012345678901234567890", "-9999999999999999999",
                               "18446744073709551616", "9" * 4000])
def test_big_integers_are_kept_exactly(tmp_path, n):
    p = tmp_path / "a.jsonl"
    p.write_text(f'{{"x": {n}, "s": "{n}"}}\n')
    assert rows(p)[0].value == {"x": int(n), "s": n}


def test_json_array_with_a_broken_middle_element_is_refused_not_cut_short(tmp_path):
    elements = [json.dumps({"i": i}) for i in range(100)]
    elements[10] = elements[10][:-3]  # element 11 truncated; 89 follow it
    p = tmp_path / "a.json"
    p.write_text("[\n" + ",\n".join(elements) + "\n]\n")
    with pytest.raises(InputError, match=r"element 11 cannot be read"):
        rows(p)


@pytest.mark.parametrize("size", [1, 5, 64, 1 << 20])
def test_byte_ranges_read_apart_yield_what_the_reader_yields(tmp_path, size):
    p = tmp_path / "a.jsonl"
    long = b'{"x": "' + b"a" * 300 + b'"}'
    p.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n   \n' + long + b'\n{"a": \n{"b": 2}\r\n{"c": 3}')
    want = list(read_raw_rows(p, max_line_bytes=100))
    assert is_plain_jsonl(p)
    ranges = list(jsonl_ranges(p, size))
    assert ranges[0][0] == 0 and ranges[-1][1] == p.stat().st_size
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    got = [r for start, end, line in ranges
           for r in read_jsonl_range(str(p), start, end, line, max_line_bytes=100)]
    assert got == want and [r.line for r in got] == [1, 4, 5, 6, 7]
    assert getattr(got[1], "code", None) == "line_too_long"


def test_only_uncompressed_json_lines_are_read_by_ranges(tmp_path):
    gz = tmp_path / "a.jsonl.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write('{"a": 1}\n')
    array = tmp_path / "b.json"
    array.write_text('[{"a": 1}]')
    pq_path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"a": [1]}), pq_path)
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"a": 1}\n')
    assert [is_plain_jsonl(p) for p in (gz, array, pq_path, jsonl)] == \
        [False, False, False, True]
