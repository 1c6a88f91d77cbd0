"""Does a re-made output reproduce the original?  Compared the way a scientist would.

Each file's format is sniffed from its content, never from its name (gammapy's high-level
``Analysis`` writes a YAML index under a name ending in ``.fits.gz``): FITS (also gzipped), any
other gzip stream (unpacked, then sniffed again), JSON, YAML (a mapping or a list), else text.
In order: identical bytes (of the file, then of the unpacked stream); for FITS files, astropy's
:class:`~astropy.io.fits.FITSDiff` of every HDU's header and data apart from the keywords a writer
stamps with the time of writing (:data:`FITS_STAMPS`: ``DATE``, ``DATE-HDU``, ``CREATED``,
gammapy's ``CREATOR``, and ``CHECKSUM`` which covers them; the comments of
``CHECKSUM``/``DATASUM``, which carry their update time) and apart from autoprov's own embedded
provenance (the ``PROVENANCE`` HDU and its header keywords, different in every run by design); for
JSON and YAML, equal after parsing apart from write-time stamps (:data:`KEY_STAMPS`, such as
gammapy's ``metadata.date``; ``metadata.creator``) and gammapy's top-level YAML ``checksum``, an MD5
of the text above it, date included (``gammapy.utils.check.add_checksum``): ignored only when all
else is equal and, where the original's checksum matches its own text, the re-made one matches
its own too; for other text, equal line by line with numbers compared as numbers.  Numbers may
differ by ``rtol`` (relative) and ``atol`` (absolute) everywhere, default 0: exact.  The "how" of
every comparison names the format found and what was ignored.

``ORIGIN`` and every other keyword or key is compared.
"""

from __future__ import annotations

import filecmp
import gzip
import hashlib
import io
import json
import math
import re
from pathlib import Path
from typing import Any, NamedTuple

from ..export.fits_embed import EMBED_HDU, EMBED_KEYWORDS, is_fits

FITS_STAMPS = ("DATE", "DATE-HDU", "CREATED", "CREATOR", "CHECKSUM")
FITS_STAMP_COMMENTS = ("CHECKSUM", "DATASUM")
KEY_STAMPS = frozenset({"date", "created", "creation_date", "date_created"})
METADATA_STAMPS = frozenset({"creator"})  # keys of gammapy's top-level ``metadata`` block (CreatorMetaData)
CHECKSUM = "checksum"  # gammapy's top-level YAML key: MD5 of the text above it
TEXT_LIMIT = 64 << 20  # larger text files (or unpacked gzip streams) are compared as bytes only
_NUMBER = re.compile(r"([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)\b)", re.I)


class Comparison(NamedTuple):
    same: bool
    how: str


class Tolerance(NamedTuple):
    rtol: float = 0.0
    atol: float = 0.0

    def close(self, a: float, b: float) -> bool:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= self.atol + self.rtol * abs(b)


def compare(original: Path, remade: Path, tolerance: Tolerance = Tolerance(), paths: tuple[str, str] | None = None) -> Comparison:
    """``original`` against ``remade``, each file's format sniffed from its content; ``paths`` =
    (the re-run's folder, the original folder) as text, so that a file naming its own folder
    compares equal after the move."""
    if not remade.exists():
        return Comparison(False, "missing: the re-run did not write it")
    if not original.exists():
        return Comparison(False, "the original is gone")
    if filecmp.cmp(original, remade, shallow=False):
        return Comparison(True, "identical bytes")
    if is_fits(original) and is_fits(remade):
        return _fits(original, remade, tolerance)
    left, right = _unpacked(original), _unpacked(remade)
    if left is None or right is None:
        return Comparison(False, f"bytes differ ({original.stat().st_size} vs {remade.stat().st_size} bytes)")
    packed = "gzipped " if _gzipped(original) and _gzipped(remade) else ""
    if left == right:
        return Comparison(True, f"{packed}identical bytes once unpacked (the gzip headers differ)")
    texts = _decoded(left, right)
    if texts is None:
        return Comparison(False, f"{packed}bytes differ ({len(left)} vs {len(right)} bytes)")
    kind, parsed = sniff_text(texts[0])
    if kind == "text":
        comparison = _lines(*_moved(texts, paths), tolerance)
    else:
        comparison = _structured(kind, parsed, texts, paths, tolerance)
    return Comparison(comparison.same, packed + comparison.how if packed else comparison.how)


def sniff(path: Path) -> str:
    """The format of a file from its content: ``FITS``, ``JSON``, ``YAML``, ``text`` or ``binary``,
    prefixed with ``gzipped`` when it is a gzip stream."""
    if is_fits(path):
        return "gzipped FITS" if _gzipped(path) else "FITS"
    content = _unpacked(path)
    texts = _decoded(content, b"") if content is not None else None
    kind = sniff_text(texts[0])[0] if texts is not None else "binary"
    return f"gzipped {kind}" if _gzipped(path) else kind


def sniff_text(text: str) -> tuple[str, Any]:
    """``(JSON|YAML, the parsed value)`` for a JSON document or a YAML mapping or list, else
    ``("text", None)`` (any text parses as a YAML scalar: that is text, not YAML)."""
    if text.lstrip()[:1] in ("{", "["):
        try:
            return "JSON", json.loads(text)
        except ValueError:
            pass
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return "text", None
    return ("YAML", value) if isinstance(value, (dict, list)) else ("text", None)


def _gzipped(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _unpacked(path: Path) -> bytes | None:
    """The file's bytes, a gzip stream unpacked; None above :data:`TEXT_LIMIT` or when broken."""
    if path.stat().st_size > TEXT_LIMIT:
        return None
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            data = stream.read(TEXT_LIMIT + 1)
    except (OSError, EOFError):
        return None
    return data if len(data) <= TEXT_LIMIT else None


def _moved(texts: tuple[str, str], paths: tuple[str, str] | None) -> tuple[str, str]:
    """The re-made text with the re-run's folder read as the original's."""
    left, right = texts
    return (left, right.replace(paths[0], paths[1])) if paths is not None else (left, right)


# -- FITS ------------------------------------------------------------------------------------


def _fits(original: Path, remade: Path, tolerance: Tolerance) -> Comparison:
    from astropy.io import fits
    from astropy.io.fits import FITSDiff

    with fits.open(original) as left, fits.open(remade) as right:
        # FITSDiff counts HDUs and cards before it applies ignore_hdus and ignore_keywords, so the
        # embedded provenance and the stamps are removed from the in-memory copies instead
        left = fits.HDUList([hdu for hdu in left if hdu.name != EMBED_HDU])
        right = fits.HDUList([hdu for hdu in right if hdu.name != EMBED_HDU])
        stamped = _stamps(left, right)
        for hdu in (*left, *right):
            for keyword in (*FITS_STAMPS, *EMBED_KEYWORDS):
                while keyword in hdu.header:
                    del hdu.header[keyword]
        result = FITSDiff(left, right, ignore_comments=list(FITS_STAMP_COMMENTS), rtol=tolerance.rtol, atol=tolerance.atol)
        if not result.identical:
            return Comparison(False, "FITS differs: " + _fits_summary(result))
    apart = f", apart from {', '.join(stamped)}" if stamped else ""
    return Comparison(True, f"FITS: same data and headers{apart}" + (f" (rtol {tolerance.rtol:g})" if tolerance.rtol else ""))


def _stamps(left: Any, right: Any) -> list[str]:
    """The write-time stamps that differ between two HDU lists (what "apart from" names)."""
    found: set[str] = set()
    for a, b in zip(left, right):
        for keyword in FITS_STAMPS:
            if (keyword in a.header) != (keyword in b.header) or a.header.get(keyword) != b.header.get(keyword):
                found.add(keyword)
        for keyword in FITS_STAMP_COMMENTS:
            if keyword in a.header and keyword in b.header and a.header.comments[keyword] != b.header.comments[keyword] and keyword not in found:
                found.add(f"{keyword} comment")
    return sorted(found)


def _header_keys(headers: Any) -> set[str]:
    if headers is None or headers.identical:
        return set()
    keys = set(headers.diff_keyword_values)
    keys.update(f"{key} comment" for key in headers.diff_keyword_comments if key not in keys)
    for side in headers.diff_keywords or ():
        keys.update(side)
    return keys


def _fits_summary(result: Any) -> str:
    if result.diff_hdu_count:
        return f"{result.diff_hdu_count[0]} HDUs vs {result.diff_hdu_count[1]}"
    parts = []
    for index, hdu, extname, _ in result.diff_hdus:
        name = extname or f"HDU {index}"
        what = []
        if hdu.diff_extension_types or hdu.diff_extnames:
            what.append("extension differs")
        keys = _header_keys(hdu.diff_headers)
        if keys:
            what.append("header " + ", ".join(sorted(keys)[:4]) + (" ..." if len(keys) > 4 else ""))
        data = hdu.diff_data
        if data is not None and not data.identical:
            if getattr(data, "diff_dimensions", ()):
                what.append(f"data shape {data.diff_dimensions[0]} vs {data.diff_dimensions[1]}")
            elif getattr(data, "diff_rows", ()):
                what.append(f"{data.diff_rows[0]} rows vs {data.diff_rows[1]}")
            elif getattr(data, "diff_column_names", ()):
                what.append("columns differ")
            elif getattr(data, "diff_values", None):
                columns = sorted({str(where[0]) for where, _ in data.diff_values})
                what.append(f"{data.diff_total} values differ, first in {', '.join(columns[:4])}")
            elif getattr(data, "diff_pixels", None):
                what.append(f"{data.diff_total} pixels differ (max relative {data.max_relative:.3g})")
            else:
                what.append("data differ")
        parts.append(f"{name}: {'; '.join(what) or 'differs'}")
    return "; ".join(parts[:3]) + (f"; +{len(parts) - 3} HDUs" if len(parts) > 3 else "")


# -- text, JSON, YAML --------------------------------------------------------------------------


def _decoded(left: bytes, right: bytes) -> tuple[str, str] | None:
    """Both as UTF-8 text, or None when either is binary."""
    texts = []
    for raw in (left, right):
        if b"\0" in raw:
            return None
        try:
            texts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return None
    return texts[0], texts[1]


def _structured(kind: str, parsed: Any, texts: tuple[str, str], paths: tuple[str, str] | None, tolerance: Tolerance) -> Comparison:
    """Parsed JSON or YAML compared as values; the re-made file is parsed as the original was."""
    left, right = _moved(texts, paths)
    try:
        a = parsed
        b = json.loads(right) if kind == "JSON" else sniff_text(right)[1]
        if not isinstance(b, (dict, list)):
            raise ValueError("not a mapping or a list")
    except ValueError as error:  # the re-made file is not valid: compare as text
        comparison = _lines(left, right, tolerance)
        return Comparison(comparison.same, f"{comparison.how} (the re-made file is not {kind}: {error})")
    checksums = (_checksum(a), _checksum(b))
    if checksums[0] is not None and checksums[1] is not None:
        a, b = _without_checksum(a), _without_checksum(b)
    ignored: set[str] = set()
    difference = _difference(a, b, "", tolerance, ignored)
    if difference:
        return Comparison(False, f"{kind} differs at {difference}")
    if checksums[0] is not None and checksums[1] is not None and checksums[0] != checksums[1]:
        if _checksum_covers(texts[0], checksums[0]) and not _checksum_covers(texts[1], checksums[1]):
            return Comparison(False, f"{kind}: the re-made {CHECKSUM} does not match its own text (the original's does)")
        ignored.add(f"{CHECKSUM} (MD5 over the text, date included)")
    apart = f", apart from {', '.join(sorted(ignored))}" if ignored else ""
    return Comparison(True, f"{kind}: equal after parsing{apart}")


def _checksum(value: Any) -> str | None:
    """gammapy's top-level ``checksum`` of a parsed YAML document, if any."""
    return value.get(CHECKSUM) if isinstance(value, dict) and isinstance(value.get(CHECKSUM), str) else None


def _without_checksum(value: dict) -> dict:
    return {key: item for key, item in value.items() if key != CHECKSUM}


def _checksum_covers(text: str, checksum: str) -> bool:
    """Whether ``checksum`` is the MD5 of the text above its own line, as gammapy computes it
    (``gammapy.utils.check.add_checksum`` appends ``checksum: <md5 of all before>`` last)."""
    at = text.rfind(f"\n{CHECKSUM}:")
    return at >= 0 and hashlib.md5(text[: at + 1].encode("utf-8")).hexdigest() == checksum


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _difference(a: Any, b: Any, where: str, tolerance: Tolerance, ignored: set[str]) -> str | None:
    """Where ``a`` and ``b`` first differ (None: equal), write-time stamps apart."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            here = f"{where}.{key}" if where else str(key)
            stamp = str(key).lower() in KEY_STAMPS or (where == "metadata" and str(key).lower() in METADATA_STAMPS)
            if stamp and isinstance(a.get(key), str) and isinstance(b.get(key), str):
                if a[key] != b[key]:
                    ignored.add(here)
                continue
            if key not in a or key not in b:
                return f"{here} (only in the {'re-run' if key not in a else 'original'})"
            found = _difference(a[key], b[key], here, tolerance, ignored)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where or 'top'} ({len(a)} items vs {len(b)})"
        for index, (x, y) in enumerate(zip(a, b)):
            found = _difference(x, y, f"{where}[{index}]", tolerance, ignored)
            if found:
                return found
        return None
    if _number(a) and _number(b):
        return None if tolerance.close(float(a), float(b)) else f"{where or 'top'}: {a!r} vs {b!r}"
    return None if a == b else f"{where or 'top'}: {_short(a)} vs {_short(b)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _lines(left: str, right: str, tolerance: Tolerance) -> Comparison:
    a, b = left.splitlines(), right.splitlines()
    if len(a) != len(b):
        return Comparison(False, f"text differs: {len(a)} lines vs {len(b)}")
    for number, (x, y) in enumerate(zip(a, b), 1):
        if x == y:
            continue
        xs, ys = _NUMBER.split(x), _NUMBER.split(y)
        if len(xs) != len(ys) or any(p != q for p, q in zip(xs[::2], ys[::2])):
            return Comparison(False, f"text differs at line {number}")
        for p, q in zip(xs[1::2], ys[1::2]):
            if not tolerance.close(float(p), float(q)):
                return Comparison(False, f"text differs at line {number}: {p} vs {q}")
    return Comparison(True, "text: equal numbers within tolerance" if tolerance.rtol or tolerance.atol else "text: equal numbers")
