"""Remember validated filters so a run does not pay for YAML and pydantic at start-up.

Validating the shipped gammapy filter imports pydantic and builds its models (a few hundred
milliseconds); the start-up budget of a run is 80 ms.  A validated filter is stored as JSON under
the user's cache directory, keyed by a digest of the file's bytes, its label and the autoprov
version, so any edit (or upgrade) validates again.  The cache is an optimisation only: every
failure to read or write it is ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import xxhash

from ..version import __version__
from .compiler import Validated

SCHEMA_REVISION = "3"  # 2: entity types and state, property accessors, index lists; 3: calls


def cache_dir() -> Path:
    configured = os.environ.get("AUTOPROV_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "autoprov" / "filters"


def _key(raw: bytes, label: str) -> str:
    digest = xxhash.xxh3_128()
    digest.update(f"{SCHEMA_REVISION}\0{__version__}\0{label}\0".encode())
    digest.update(raw)
    return digest.hexdigest()


def load(raw: bytes, label: str) -> Validated | None:
    try:
        stored = json.loads((cache_dir() / f"{_key(raw, label)}.json").read_text(encoding="utf-8"))
        return Validated(label, stored["data"], stored["activity_lines"], stored["exclude_lines"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(raw: bytes, validated: Validated) -> None:
    directory = cache_dir()
    target = directory / f"{_key(raw, validated.label)}.json"
    text = json.dumps({"data": validated.data, "activity_lines": validated.activity_lines,
                       "exclude_lines": validated.exclude_lines})
    try:
        directory.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)
    except OSError:
        pass
