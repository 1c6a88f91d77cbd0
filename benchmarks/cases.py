"""The benchmark cases (issue 5): what each runs, at which size, and against which target.

Sizes come in pairs (full, smoke): the smoke sizes only prove that every case runs and reports.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKLOADS = HERE / "workloads"
EXAMPLES = REPO / "examples"


@dataclass(frozen=True)
class Subprocess:
    """A case timed as whole runs of a script, plain against each variant, interleaved."""

    name: str
    group: str
    script: str  # path relative to the repository
    args: tuple[str, ...]  # may contain {tmp}; full-size arguments
    smoke_args: tuple[str, ...]
    target: str  # key in TARGETS ("" when the case only informs)
    cprofile: bool = False  # add `python -m cProfile -o /dev/null` (and viztracer, the floors) as references
    check_output: bool = False  # stdout under autoprov must equal plain stdout
    in_smoke: bool = True


REAL = [
    Subprocess("crab_1d", "real analyses", "examples/crab_1d.py", ("--outdir", "{tmp}/crab_1d"),
               ("--outdir", "{tmp}/crab_1d"), "real", cprofile=True, check_output=True, in_smoke=False),
    Subprocess("crab_3d_analysis", "real analyses", "examples/crab_3d_analysis.py", ("--outdir", "{tmp}/crab_3d"),
               ("--outdir", "{tmp}/crab_3d"), "real", cprofile=True, check_output=True, in_smoke=False),
    Subprocess("simulate_3d", "real analyses", "examples/simulate_3d.py", ("--outdir", "{tmp}/simulate_3d"),
               ("--outdir", "{tmp}/simulate_3d"), "real", cprofile=True, check_output=True),
]

UNMATCHED = [
    # the target (issue 12) is for the in-process case: this whole 0.1 s process is mostly start-up
    Subprocess("1e6 pure-Python calls", "unmatched code", "benchmarks/workloads/unmatched_calls.py",
               ("1000000",), ("100000",), "", cprofile=True),
    Subprocess("builtin-call loop", "unmatched code", "benchmarks/workloads/builtin_calls.py",
               ("1000000",), ("100000",), "", cprofile=True),
    Subprocess("numpy loop", "unmatched code", "benchmarks/workloads/numpy_loop.py",
               ("20000",), ("2000",), "", cprofile=True),
]

FILES = [
    Subprocess("1000 small files", "files", "benchmarks/workloads/small_files.py",
               ("{tmp}/small", "1000"), ("{tmp}/small", "50"), ""),
    Subprocess("large file read", "files", "benchmarks/workloads/large_file.py",
               ("{large}",), ("{large}",), ""),
]

STARTUP = Subprocess("empty script", "start-up", "benchmarks/workloads/empty.py", (), (), "startup")

LARGE_FILE_MB = (200, 8)  # (full, smoke)
MATCHED_CALLS = (100_000, 10_000)
UNMATCHED_INPROCESS_CALLS = (1_000_000, 100_000)
EXPORT_ACTIVITIES = (100_000, 1_000)
EXPORT_FORMATS = ("json", "provn", "dot")
ROUNDS = {"full": 5, "smoke": 1}
STARTUP_ROUNDS = {"full": 10, "smoke": 2}
MATCHED_REPEATS = {"full": 5, "smoke": 1}

# BRIEF §6.  Ratios are medians of paired ratios; "fallback" applies on interpreters without
# sys.monitoring (3.11), for the settrace engine (the default there with the pure core).
TARGETS = {
    "real": {"monitoring": 1.03, "evalframe": 1.10, "fallback": 1.5},  # with the native core (issues 12, 21)
    "unmatched": {"monitoring": 1.02},
    "matched_us": 3.0,
    "startup_ms": 80.0,
    "export_json_s": 10.0,
    "export_rss_mb": 1024.0,
}


CORES = ("native", "pure")


def engines_for(python_version: tuple[int, int]) -> list[str]:
    """The engines an interpreter offers, default first."""
    if python_version >= (3, 12):
        return ["monitoring", "settrace", "setprofile"]
    return ["evalframe", "settrace", "setprofile"]  # evalframe: native core only


def current_version() -> tuple[int, int]:
    return sys.version_info[:2]
