"""Read IDX files, the format MNIST and Fashion-MNIST ship in, gzipped or raw.

The format is a 4-byte magic (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values. Only unsigned bytes (type 0x08) occur
in these datasets, so only they are accepted; anything else is reported as corrupt rather
than guessed at.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from vaeserve.training.errors import DatasetError

UBYTE_TYPE = 0x08


def find_idx(directory: Path, stem: str, how_to_get: str) -> Path:
    """Return ``stem`` or ``stem.gz`` inside ``directory``, preferring the raw file."""
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"{directory / stem}(.gz) is missing: {how_to_get}")


def read_idx(path: Path, how_to_get: str) -> np.ndarray:
    """Return the array stored in an IDX file; raise DatasetError naming the file if it is bad."""
    try:
        raw = _read_bytes(path)
        return _parse(raw)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile, ValueError, struct.error) as error:
        raise DatasetError(f"{path} is not a readable IDX file ({error}): {how_to_get}") from error


def _read_bytes(path: Path) -> bytes:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as stream:
            return stream.read()
    return path.read_bytes()


def _parse(raw: bytes) -> np.ndarray:
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError("bad magic number")
    type_code, ndim = raw[2], raw[3]
    if type_code != UBYTE_TYPE:
        raise ValueError(f"unsupported value type 0x{type_code:02x}")
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape)) if shape else 0
    if len(raw) - header != expected:
        raise ValueError(
            f"header says {expected} values for shape {shape}, file holds {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
