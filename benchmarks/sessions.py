"""Overhead of capture across processes and in notebooks (issue 14): ``make bench-sessions``.

* pool: ``workloads/pool_analysis.py``, the Crab 1D reduction of four observations in a 4-worker
  ``multiprocessing`` pool, plain against ``python -m autoprov``, beside the same analysis run
  serially.  CPU is user + system time of the whole process tree (``os.wait4`` of the child, which
  counts the workers it waited for); target: capture adds at most 5 % CPU to the pool analysis.
* cells: an IPython shell running small cells, without the extension, with ``%load_ext autoprov``
  and capture off (never started, and started then stopped), and with capture on (for reference);
  target: a cell with capture off costs nothing measurable.

Rounds interleave plain and captured runs (harness.py) on a shared machine; medians are reported.

    python benchmarks/sessions.py [--rounds 3] [--only pool,cells] [--start-method fork]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import Variant, adopt_orphans, interleaved  # noqa: E402
from run import RESULTS, child_env, git_commit  # noqa: E402

POOL_TARGET = 1.05
CELLS = '''
import json, sys, time
from IPython.testing.globalipapp import start_ipython
shell = start_ipython()
mode, count, store = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if mode != "no extension":
    shell.run_line_magic("load_ext", "autoprov")
if mode in ("after start and stop", "capture on"):
    shell.run_line_magic("autoprov", f"start --store {store} --filter none --graph none --format json")
if mode == "after start and stop":
    shell.run_line_magic("autoprov", "stop")
for _ in range(200):
    shell.run_cell("total = sum(range(50))", store_history=True)  # warm up
start = time.process_time()
for _ in range(count):
    shell.run_cell("total = sum(range(50))", store_history=True)
print("RESULT", json.dumps((time.process_time() - start) / count * 1e6))
'''
CELL_MODES = ("no extension", "loaded, capture off", "after start and stop", "capture on")


def compile_bytecode(python: str) -> None:
    """Byte-compile the autoprov measured, as ``pip install`` does and as ``run.py`` does: with
    PYTHONDONTWRITEBYTECODE set (as on this machine) every run would otherwise compile autoprov's
    ~110 modules again, a cost no installed autoprov pays."""
    code = "import autoprov, compileall, os; compileall.compile_dir(os.path.dirname(autoprov.__file__), quiet=1)"
    subprocess.run([python, "-c", code], check=True, capture_output=True)


def pool_case(python: str, rounds: int, start_method: str, tmp: Path) -> dict:
    env = child_env(tmp)
    variant = Variant("monitoring", ("-m", "autoprov", "--engine", "monitoring", "--quiet"))
    script = str(HERE / "workloads" / "pool_analysis.py")
    result = {}
    for label, workers in (("serial", "0"), ("4-worker pool", "4")):
        ratios, plains = interleaved(python, [script, "--workers", workers, "--start-method", start_method], [variant], rounds,
                                     HERE.parent, env, check_output=True)
        summary = ratios["monitoring"].summary()
        result[label] = {"plain_cpu_s": statistics.median(s.cpu for s in plains), "plain_wall_s": statistics.median(s.wall for s in plains),
                         "cpu_ratio": summary["cpu"], "wall_ratio": summary["wall"], "pairs": summary["pairs"],
                         "background_cpu_s": summary["background_cpu_s"]}
    result["4-worker pool"]["target_cpu_ratio"] = POOL_TARGET
    result["4-worker pool"]["meets_target"] = result["4-worker pool"]["cpu_ratio"]["median"] <= POOL_TARGET
    return result


def cells_case(python: str, rounds: int, tmp: Path, count: int) -> dict:
    """One fresh shell per measurement, the modes interleaved round by round; CPU time per cell."""
    samples: dict[str, list[float]] = {mode: [] for mode in CELL_MODES}
    for _ in range(rounds):
        for mode in CELL_MODES:
            done = subprocess.run([python, "-c", CELLS, mode, str(count), str(tmp / "cells-store")], capture_output=True, text=True,
                                  env=child_env(tmp), timeout=1800)
            line = next((line for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
            if line is None:
                raise RuntimeError(f"cell benchmark ({mode}) failed:\n{done.stderr[-2000:]}")
            samples[mode].append(json.loads(line[len("RESULT "):]))
    per_cell = {mode: statistics.median(values) for mode, values in samples.items()}
    base = per_cell["no extension"]
    return {"cells_per_run": count, "rounds": rounds, "per_cell_cpu_us": per_cell, "samples": samples,
            "ratio_capture_off": per_cell["loaded, capture off"] / base, "ratio_after_stop": per_cell["after start and stop"] / base}


def report(results: dict) -> str:
    lines = []
    if "pool" in results:
        lines.append("pool analysis (crab 1D reduction of 4 observations), CPU of the whole process tree, autoprov / plain:")
        for label, row in results["pool"].items():
            cpu, wall = row["cpu_ratio"], row["wall_ratio"]
            target = f"   target <= {row['target_cpu_ratio']:.2f}: {'met' if row['meets_target'] else 'MISSED'}" if "target_cpu_ratio" in row else ""
            lines.append(f"  {label:<14} plain {row['plain_cpu_s']:6.2f} s CPU  cpu x{cpu['median']:.3f} "
                         f"[{cpu['min']:.3f}-{cpu['max']:.3f}]  wall x{wall['median']:.3f}  ({row['pairs']} pairs)"
                         f"  detached export {row['background_cpu_s']['median']:.2f} s CPU, not counted{target}")
    if "cells" in results:
        cells = results["cells"]
        lines.append(f"IPython cells ({cells['cells_per_run']} per shell, {cells['rounds']} rounds), median CPU time per cell:")
        for name, value in cells["per_cell_cpu_us"].items():
            lines.append(f"  {name:<22} {value:8.1f} us")
        lines.append(f"  capture off / no extension: x{cells['ratio_capture_off']:.3f}; after stop: x{cells['ratio_after_stop']:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="pool,cells")
    parser.add_argument("--start-method", default="fork", choices=("fork", "spawn", "forkserver"))
    parser.add_argument("--cells", type=int, default=2000, help="cells per round in the cell benchmark")
    parser.add_argument("--output", default=None)
    options = parser.parse_args(argv)
    groups = set(options.only.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="autoprov-bench-sessions-"))
    results: dict = {"commit": git_commit(), "python": options.python, "start_method": options.start_method,
                     "load_average": list(os.getloadavg()), "background_waited": adopt_orphans()}
    compile_bytecode(options.python)
    if "pool" in groups:
        results["pool"] = pool_case(options.python, options.rounds, options.start_method, tmp)
    if "cells" in groups:
        results["cells"] = cells_case(options.python, max(options.rounds, 5), tmp, options.cells)
    results["load_average_after"] = list(os.getloadavg())
    print(report(results))
    output = Path(options.output) if options.output else RESULTS / f"{time.strftime('%Y%m%dT%H%M%S')}-sessions.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
