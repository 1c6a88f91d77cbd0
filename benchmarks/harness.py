"""Timing machinery: one subprocess per run, plain and traced runs interleaved, paired ratios.

The machine is shared and noisy, so no absolute time is compared with another invocation's.
For each case, rounds run ``plain, V1, V2, ..., plain, V1, V2, ..., plain``: every variant run
sits between two plain runs, and its ratio is to their geometric mean, so drift during a round
cancels.  Wall time is measured around the child, CPU time (user + system) and peak RSS come from
``os.wait4``'s per-child rusage, which also covers grandchildren the child waited for.

A run under autoprov leaves its export and indexing to a detached process that starts when the
program exits (``autoprov.session.postrun``).  Left running, it shared the two cores with the next
measured run (on this VM a busy sibling core slows a run's CPU time too, not only its wall time),
so whichever run followed an autoprov run paid for it: the C audit-hook floor after the pure
core measured 1.09x on crab_1d while autoprov itself measured 0.99x.  The harness therefore
adopts its descendants' orphans (Linux ``PR_SET_CHILD_SUBREAPER``) and reaps them before the next
run starts; their CPU is kept apart (``Sample.background_cpu``): it is not time the user waits
for, but it is reported.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds
    cpu: float  # seconds, user + system
    rss: int  # peak resident set size, bytes
    background_cpu: float = 0.0  # seconds, of the processes the run left behind (its detached export)


@dataclass(frozen=True)
class Variant:
    """One way to run a case's workload: an autoprov engine on a core, a reference tool, a floor."""

    name: str
    prefix: tuple[str, ...]  # arguments between the interpreter and the script
    env: tuple[tuple[str, str], ...] = ()  # environment added for this variant (AUTOPROV_CORE, ...)


class ChildFailed(RuntimeError):
    pass


PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def adopt_orphans() -> bool:
    """Become the parent of every process a child leaves behind (Linux); False where not possible.

    Without it a detached export would be re-parented to init and run on unseen, beside the next
    measured run.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def reap_orphans() -> float:
    """Wait for every adopted orphan to end (blocking on their exit, no polling); their CPU seconds."""
    cpu = 0.0
    while True:
        try:
            _, _, usage = os.wait4(-1, 0)
        except ChildProcessError:
            return cpu
        cpu += usage.ru_utime + usage.ru_stime


def run_child(argv: list[str], cwd: Path, env: dict[str, str], capture: bool = False) -> tuple[Sample, str]:
    """Run one child to completion; its resources, and its stdout when ``capture``.

    Output goes to temporary files, not pipes, so the parent can reap the child itself with
    ``os.wait4`` (which ``Popen.wait`` would otherwise do first, losing the rusage).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=out if capture else subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        if process.returncode != 0:
            stderr = err.read().decode("utf-8", "replace")
            raise ChildFailed(f"{' '.join(argv)} exited with {process.returncode}:\n{stderr[-2000:]}")
    background = reap_orphans()
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, background), stdout


@dataclass
class Ratios:
    """Pairwise ratios of one variant against the plain runs around it."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    added_wall: list[float] = field(default_factory=list)  # seconds over the plain runs
    added_cpu: list[float] = field(default_factory=list)  # CPU seconds over the plain runs
    samples: list[Sample] = field(default_factory=list)

    def add(self, sample: Sample, before: Sample, after: Sample) -> None:
        def baseline(a: float, b: float) -> float:
            return math.sqrt(a * b)

        self.samples.append(sample)
        self.wall.append(sample.wall / baseline(before.wall, after.wall))
        self.cpu.append(sample.cpu / baseline(before.cpu, after.cpu))
        self.rss.append(sample.rss / baseline(before.rss, after.rss))
        self.added_wall.append(sample.wall - (before.wall + after.wall) / 2)
        self.added_cpu.append(sample.cpu - (before.cpu + after.cpu) / 2)

    def summary(self) -> dict[str, object]:
        def stats(values: list[float]) -> dict[str, float]:
            return {"median": statistics.median(values), "min": min(values), "max": max(values)}

        return {
            "pairs": len(self.wall),
            "wall": stats(self.wall),
            "cpu": stats(self.cpu),
            "rss": stats(self.rss),
            "added_wall_s": stats(self.added_wall),
            "wall_s": stats([s.wall for s in self.samples]),
            "peak_rss_mb": stats([s.rss / 2**20 for s in self.samples]),
            "background_cpu_s": stats([s.background_cpu for s in self.samples]),
        }


def interleaved(
    python: str,
    script: list[str],
    variants: list[Variant],
    rounds: int,
    cwd: Path,
    env: dict[str, str],
    check_output: bool = False,
) -> tuple[dict[str, Ratios], list[Sample]]:
    """Run ``rounds`` rounds of plain + every variant; ratios per variant and the plain samples.

    With ``check_output`` every run's stdout must equal the first plain run's (autoprov must not
    change what the program prints).
    """
    ratios = {variant.name: Ratios() for variant in variants}
    plain_argv = [python, *script]
    reference: str | None = None

    def plain() -> Sample:
        nonlocal reference
        sample, out = run_child(plain_argv, cwd, env, capture=check_output)
        if check_output:
            reference = out if reference is None else reference
            if out != reference:
                raise ChildFailed(f"plain run printed something else the second time: {script}")
        return sample

    plains = [plain()]
    for _ in range(rounds):
        pending: list[tuple[Variant, Sample]] = []
        for variant in variants:
            sample, out = run_child([python, *variant.prefix, *script], cwd, {**env, **dict(variant.env)}, capture=check_output)
            if check_output and out != reference:
                raise ChildFailed(f"{variant.name}: stdout differs from the plain run for {script}")
            pending.append((variant, sample))
        plains.append(plain())
        for variant, sample in pending:
            ratios[variant.name].add(sample, plains[-2], plains[-1])
    return ratios, plains
