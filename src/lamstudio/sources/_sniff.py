"""Which format do a file's first rows read as? For the hint when every row is rejected
(a forgotten ``--from``): each format's own reader is tried on the first rows."""

from __future__ import annotations

import os
from itertools import islice

from lamstudio.io import InputError, Row, read_rows
from lamstudio.sources._base import convert_rows
from lamstudio.sources._registry import FORMATS, get_format


def sniff_format(path: str | os.PathLike[str], rows: int = 5,
                 exclude: tuple[str, ...] = ()) -> str | None:
    """The first format (in ``FORMATS`` order) whose reader keeps every one of the first
    ``rows`` rows of ``path``; None if no format does (or the file cannot be read)."""
    try:
        head = [r for r in islice(read_rows(path), rows) if isinstance(r, Row)]
    except InputError:
        return None
    if not head:
        return None
    for name in FORMATS:
        if name in exclude or name == "bfcl":  # bfcl joins a second file: not from rows alone
            continue
        fmt = get_format(name)
        try:
            results = list(convert_rows(head, fmt.from_row))
        except Exception:  # noqa: BLE001 - a reader that breaks on foreign rows is a "no"
            continue
        if all(r.record is not None for r in results):
            return name
    return None
