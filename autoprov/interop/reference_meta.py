"""The ctapipe activity that wrote a file, as the file itself says (CTAO reference metadata).

ctapipe's ``ctapipe.io.metadata`` writes the producing activity's UUID into its products: the
``CTA ACTIVITY ID`` attribute of an HDF5 file's root node, the ``HIERARCH CTA ACTIVITY ID`` key of
a FITS primary header (the ``CTAO`` spelling of the newer data model is accepted too).  Reading it
is what makes a match between a log's output and a file on disk certain; a file without it (the
DL3 FITS writer keeps only ``CREATOR``/``CREATED``) is matched by path and time instead.
The readers (astropy, PyTables or h5py) are imported only here and only when present.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

_KEY = re.compile(r"^CTAO? ACTIVITY ID$")
_FITS_MAGIC, _GZIP_MAGIC, _HDF5_MAGIC = b"SIMPLE", b"\x1f\x8b", b"\x89HDF"


def activity_id(path: Path) -> str | None:
    """The activity UUID the file at ``path`` carries, or None (none, unreadable, no reader installed).

    Remembered per (path, size, mtime): a log's activities often share inputs (one calibration file
    read by every run), and opening a FITS file with astropy costs ~10 ms.
    """
    try:
        info = path.stat()
    except OSError:
        return None
    return _cached(str(path), info.st_size, info.st_mtime_ns)


@lru_cache(maxsize=4096)
def _cached(path: str, size: int, mtime: int) -> str | None:
    return _read(Path(path))


def _read(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            magic = handle.read(8)
        if magic.startswith(_HDF5_MAGIC):
            return _find(_hdf5_attributes(path))
        if magic.startswith((_FITS_MAGIC, _GZIP_MAGIC)):
            return _find(_fits_header(path))
    except Exception:  # a damaged or foreign file has no usable metadata: it is matched by path and time
        return None
    return None


def _find(keys: dict[str, Any]) -> str | None:
    for key, value in keys.items():
        if _KEY.match(re.sub(r"[._]+", " ", str(key)).upper()) and isinstance(value, (str, bytes)):
            return (value.decode() if isinstance(value, bytes) else value).strip() or None
    return None


def _fits_header(path: Path) -> dict[str, Any]:
    """Only the activity keys' values: parsing every card of a header costs more than opening the file."""
    from astropy.io import fits

    with fits.open(path, lazy_load_hdus=True) as hdus:
        header = hdus[0].header
        return {key: header[key] for key in header.keys() if "ACTIVITY" in key.upper()}


def _hdf5_attributes(path: Path) -> dict[str, Any]:
    try:
        import tables
    except ImportError:
        import h5py

        with h5py.File(path, "r") as handle:
            return dict(handle.attrs)
    with tables.open_file(str(path), "r") as handle:
        attributes = handle.root._v_attrs
        return {name: attributes[name] for name in attributes._f_list()}
