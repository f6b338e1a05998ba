"""Writing a prepared folder failed: say which folder and what to do, in one line.

Python writers raise ``OSError``; the Rust ones (safetensors, tokenizers) raise their own
exception whose message ends in ``(os error N)``, e.g. safetensors on a full disk:
``Error while serializing: I/O error: No space left on device (os error 28)``.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from lamstudio.models._errors import ModelError
from lamstudio.models._home import HOME_ENV

_FULL = {errno.ENOSPC, errno.EDQUOT}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def os_errno(exc: BaseException) -> int | None:
    """The errno behind ``exc``, from an ``OSError`` or a Rust writer's message."""
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    match = _RUST_OS_ERROR.search(str(exc))
    return int(match.group(1)) if match else None


def as_os_error(exc: BaseException, path: Path) -> OSError | None:
    """A Rust writer's error as the ``OSError`` it stands for, or None when it is not one."""
    code = os_errno(exc)
    return OSError(code, os.strerror(code), str(path)) if code else None


def write_error(exc: OSError, folder: Path, key: str, retry: str) -> ModelError:
    """The one-line error for a prepare that could not write ``folder``."""
    code = os_errno(exc)
    if code in _FULL:
        return ModelError(
            f"{folder}: no space left on the device while preparing {key} (nothing was "
            f"kept); free some space there or set {HOME_ENV} to a folder on a disk with "
            f"room, then rerun: lamstudio {retry}")
    if code in _DENIED:
        return ModelError(
            f"{folder}: cannot write there ({os.strerror(code)}); make it writable or set "
            f"{HOME_ENV} to a writable folder, then rerun: lamstudio {retry}")
    return ModelError(f"{folder}: preparing {key} failed ({exc.strerror or exc}; nothing was "
                      f"kept); rerun: lamstudio {retry}")
