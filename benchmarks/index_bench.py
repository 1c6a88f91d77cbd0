"""The run index benchmark (``make bench-index``): index 10,000 runs, then time the queries.

1. Synthetic run folders are written with autoprov's own log writer, as ``benchmarks/synthetic.py``
   does (real event logs, not rows written directly): 10,000 runs of 50 activities each (three
   parameters per call, objects passed between calls, two DL3-like input files read and one
   output written per run, one run in ten failed), a chain of 50 runs where each reads the file
   the previous one wrote, and two runs of 1,000 activities that differ in one parameter.
2. ``Store.index()`` indexes them all into one SQLite file, exactly as ``autoprov index`` does.
3. Each query is timed through the Python API (what ``autoprov list/diff/lineage`` run after their
   start-up), median of 5, including the catch-up scan of the 10,000 folders every query makes:
   ``list`` with a parameter filter, with a status filter, and with ``--used FILE``; ``diff`` of the
   two 1,000-activity runs; ``lineage`` of the last file of the 50-run chain; ``impact`` of the
   chain's first input, a DL3 file that 100 other runs and the two large ones read too.  The same commands
   are also timed as processes (Python and SQLAlchemy start-up included).
4. One real ``examples/crab_1d.py`` run under ``python -m autoprov`` (background export and index):
   the cost of the index hook inside the run's process (``ExportStep`` with and without it, on the
   crab run's model), and the time from the run's exit until it is in the index.

Prints a Markdown table and writes ``benchmarks/results/index-<time>.json``.  ``--runs N`` for a
smaller store, ``--no-crab`` to skip step 4, ``--store DIR`` to keep the store there and, when it
is already there, to time the queries on it again without rebuilding it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autoprov import events  # noqa: E402
from autoprov.log.writer import EventLog  # noqa: E402

START_NS = 1_780_000_000_000_000_000
STEP_NS = 1_000_000
TARGET_S = 0.5
PACKAGES = {"gammapy": "2.1", "numpy": "2.5.5", "astropy": "8.0.2", "scipy": "1.18.1", "iminuit": "2.33.0"}


def run_events(run_id: str, number: int, activities: int, inputs: list[str], output: str, status: str = "completed",
               scale: float = 1.0):
    """The events of one synthetic run: ``activities`` calls, files read and written, an environment."""
    t = START_NS + number * 10 * STEP_NS * max(activities, 50)
    info = {"argv": ["pipeline.py"], "cwd": "/data", "pid": number, "program": f"/data/pipeline_{number % 7}.py",
            "program_args": ["--night", str(number)], "engine": "monitoring", "hash_algorithm": "xxh3_128",
            "autoprov_version": "0.1.0", "python": "3.12.1"}
    yield (events.RUN, run_id, t, info)
    for act in range(1, activities + 1):
        t += STEP_NS
        params = {"energy": f"{1.5 * (act % 20) * scale}", "index": "2.5", "name": f"step-{act % 17}"}
        if act == 1:
            params["night"] = str(number % 365)  # a value shared by one run in 365
        yield (events.ACT, act, None, f"pipeline.Stage{act % 13}.run", "synthetic", t, "MainThread", params)
        fresh, made = 2 * act - 1, 2 * act
        yield (events.OBJ, fresh, {"type": "gammapy.maps.WcsNDMap", "repr": f"WcsNDMap #{fresh}"})
        yield (events.USE, act, "map", fresh, t)
        if act > 1:
            yield (events.USE, act, "dataset", made - 2, t)
        if act == 1:
            for path in inputs:
                yield (events.FILEARG, act, "filename", path, "used")
                yield (events.FILE, act, "read", path, t, 0)
        if act == activities:
            yield (events.FILE, act, "write", output, t, 1)
        yield (events.OBJ, made, {"type": "gammapy.datasets.MapDataset", "repr": f"MapDataset #{made}"})
        yield (events.GEN, act, "result", made, t + STEP_NS // 2)
        yield (events.END, act, t + STEP_NS // 2, "completed", None)
    for path in inputs:
        yield (events.DIGEST, path, 0, "xxh3_128", _digest(path), 1_000_000, t)
    yield (events.DIGEST, output, 1, "xxh3_128", _digest(output), 1000, t)
    yield (events.ENV, {"user": "astro", "hostname": os.uname().nodename, "packages": PACKAGES,
                        "python": {"version": "3.12.1", "implementation": "CPython"},
                        "platform": {"system": "Linux", "release": "6.1", "machine": "x86_64"}})
    yield (events.EXIT, t + STEP_NS, status, 0 if status == "completed" else 1, {"duration": 1.0, "cpu_time": 1.0})


def _digest(path: str) -> str:
    import xxhash

    return xxhash.xxh3_128_hexdigest(path.encode())  # one content per path: a stand-in for the file's


def write_run(store: Path, number: int, activities: int, inputs: list[str], output: str, **options) -> str:
    run_id = f"20260101T{number:012d}-bench"
    folder = store / run_id
    folder.mkdir(parents=True)
    buffer: list = list(run_events(run_id, number, activities, inputs, output, **options))
    log = EventLog(folder, buffer)  # not started: flushed here at once, as the log thread would
    log.flush()
    log.close()
    return run_id


def make_store(store: Path, runs: int) -> dict:
    dl3 = [f"/data/dl3/obs_{n:05d}.fits.gz" for n in range(200)]
    for number in range(runs):
        status = "failed" if number % 10 == 9 else "completed"
        write_run(store, number, 50, [dl3[number % 200], dl3[(number + 1) % 200]], f"/data/out/night_{number}.fits", status=status)
    chain_input = chain_start = "/data/dl3/obs_00000.fits.gz"
    for link in range(50):
        output = f"/data/chain/step_{link}.fits"
        write_run(store, runs + link, 50, [chain_input], output)
        chain_input = output
    a = write_run(store, runs + 50, 1000, dl3[:2], "/data/big/result.fits", scale=1.0)
    b = write_run(store, runs + 51, 1000, dl3[:2], "/data/big/result.fits", scale=2.0)
    return {"chain_end": chain_input, "chain_start": chain_start, "diff": (a, b), "used": dl3[7]}


def median_time(function, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def cli_time(store: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autoprov", *args, "--store", str(store)], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, cwd=REPO)
    return time.perf_counter() - start


def crab(work: Path) -> dict:
    """One crab_1d run: the index hook's cost in the run, and exit -> indexed."""
    import sqlite3

    store = work / "crab"
    env = {**os.environ, "GAMMAPY_DATA": os.environ.get("GAMMAPY_DATA", str(REPO.parent / "shared" / "data" / "gammapy-data"))}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "autoprov", "--store", str(store), "--quiet", str(REPO / "examples" / "crab_1d.py"),
                           "--outdir", str(work / "crab_out")], cwd=work, env=env, capture_output=True, text=True)
    exited = time.perf_counter()
    if done.returncode != 0:
        raise SystemExit(f"crab_1d failed: {done.stderr[-500:]}")
    while True:
        try:
            with sqlite3.connect(store / "index.sqlite") as connection:
                if connection.execute("SELECT count(*) FROM run").fetchone()[0]:
                    break
        except sqlite3.OperationalError:
            pass
        if time.perf_counter() - exited > 60:
            raise SystemExit("crab_1d run not indexed within 60 s")
        time.sleep(0.01)
    indexed = time.perf_counter()
    (run_dir,) = [p for p in store.iterdir() if p.is_dir()]
    hook = hook_cost(run_dir, store)
    in_process = _in_process_index(run_dir, work)
    return {"run_wall_s": exited - start, "exit_to_indexed_s": indexed - exited, "in_process_index_s": in_process, **hook}


def hook_cost(run_dir: Path, store: Path) -> dict:
    """ExportStep.__call__ (background) with and without the index, interleaved, median of 15 each.

    With the default outputs a detached exporter is forked anyway and the index only adds its
    command to it; with ``--format json --graph none`` nothing was forked before, so the index adds
    the fork of the waiting ``sh``.  The forked processes are killed at once (they would only run
    after this process exits).
    """
    import psutil

    from autoprov.export.names import FORMATS
    from autoprov.session.postrun import ExportStep
    from autoprov.store.location import resolve_store

    copy = run_dir.parent / "hook-probe"
    shutil.copytree(run_dir, copy)
    location = resolve_store(str(store / "probe-store"))
    results = {}
    for label, formats, graphs in (("default outputs", FORMATS, None), ("json only", ("json",), ())):
        samples: dict[str, list[float]] = {"without": [], "with": []}
        for _ in range(15):
            for name, index in (("without", None), ("with", location)):
                step = ExportStep(formats, graphs, mode="background", index=index)
                start = time.perf_counter()
                step(copy)
                samples[name].append(time.perf_counter() - start)
                for child in psutil.Process().children():
                    child.kill()
                    child.wait()
        results[label] = {name: statistics.median(values) * 1e3 for name, values in samples.items()}
    shutil.rmtree(copy)
    return {"export_step_ms": results}


def _in_process_index(run_dir: Path, work: Path) -> float:
    from autoprov.index.api import Store

    store = Store(str(work / "crab-again"))
    (work / "crab-again").mkdir(exist_ok=True)
    seconds, _ = median_time(lambda: store.add(run_dir), repeat=5)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--no-crab", action="store_true")
    parser.add_argument("--store", type=Path, default=None, help="keep (or reuse) the synthetic store in this folder")
    options = parser.parse_args()
    from autoprov.index.api import Store

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="autoprov-index-bench-"))
    results: dict = {"runs": options.runs, "python": sys.version.split()[0], "cpus": os.cpu_count(), "load_before": load_before}
    store_folder = options.store.absolute() if options.store else work / "store"
    targets_file = store_folder / "targets.json"
    try:
        if targets_file.exists():  # --store: reuse the store built before
            targets = json.loads(targets_file.read_text())
            results["reused_store"] = str(store_folder)
        else:
            start = time.perf_counter()
            targets = make_store(store_folder, options.runs)
            results["write_logs_s"] = time.perf_counter() - start
        store = Store(str(store_folder))
        start = time.perf_counter()
        report = store.index()
        results["index_s"] = time.perf_counter() - start
        results["indexed"] = len(report.indexed)
        results["index_runs_per_s"] = len(report.indexed) / results["index_s"]
        results["index_mb"] = (store_folder / "index.sqlite").stat().st_size / 1e6
        targets_file.write_text(json.dumps(targets))
        queries = {
            "list (no filter)": lambda: store.runs(),
            "list --param night=42": lambda: store.runs(param="night=42"),
            "list --status failed": lambda: store.runs(status="failed"),
            "list --used FILE": lambda: store.runs(used=_file_named(work, targets["used"])),
            "diff of two 1000-activity runs": lambda: store.diff(*targets["diff"]),
            "lineage over a 50-run chain": lambda: store.lineage(_file_named(work, targets["chain_end"])),
            "impact of a DL3 file (the 50-run chain's input)": lambda: store.impact(_file_named(work, targets["chain_start"])),
        }
        results["queries"] = {}
        for name, query in queries.items():
            seconds, answer = median_time(query)
            results["queries"][name] = {"api_s": seconds, "answer": _size(answer)}
        a, b = targets["diff"]
        results["cli"] = {
            "list --status failed": cli_time(store_folder, "list", "--status", "failed"),
            "diff": cli_time(store_folder, "diff", a, b),
            "python -c 'import sqlalchemy' (start-up floor)": _import_floor(),
        }
        if not options.no_crab:
            results["crab_1d"] = crab(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    print(table(results))
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"index-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=1, default=str))
    print(f"\n{path}")


def _file_named(work: Path, content_path: str) -> Path:
    """A real file with the content the synthetic runs gave ``content_path`` (digest of its name)."""
    # The synthetic digests are xxh3_128 of the path text, so a file holding exactly that text
    # has the content the runs recorded for it.
    target = work / "files" / content_path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content_path.encode())
    return target


def _import_floor() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sqlalchemy"])
    return time.perf_counter() - start


def _size(answer: object) -> str:
    if isinstance(answer, list):
        return f"{len(answer)} runs"
    if hasattr(answer, "changed"):
        return f"{len(answer.changed)} activities changed"
    if hasattr(answer, "products") and hasattr(answer, "runs"):
        return f"{answer.count()} products in {len(answer.runs)} runs{', cut at ' + answer.truncated if answer.truncated else ''}"
    if hasattr(answer, "root"):
        depth, node = 0, answer.root
        while node.generation is not None and node.generation.inputs:
            depth, node = depth + 1, node.generation.inputs[0]
        return f"{depth} runs deep"
    return ""


def table(results: dict) -> str:
    load = " ".join(f"{x:.1f}" for x in results["load_before"]) + " -> " + " ".join(f"{x:.1f}" for x in results["load_after"])
    lines = [
        f"autoprov run index benchmark: Python {results['python']}, {results['cpus']} CPUs, load {load}, SQLite",
        "",
        "| step | time | note | target |",
        "|---|---|---|---|",
    ]
    if "reused_store" in results:
        lines.append(f"| (store reused from {results['reused_store']}; index brought up to date) | {results['index_s']:.1f} s | "
                     f"{results['indexed']} indexed, {results['index_mb']:.0f} MB | |")
    else:
        lines += [
            f"| write {results['runs'] + 52} synthetic event logs | {results['write_logs_s']:.1f} s | autoprov's log writer | |",
            f"| index them (`Store.index()`) | {results['index_s']:.1f} s | {results['index_runs_per_s']:.0f} runs/s, {results['index_mb']:.0f} MB | |",
        ]
    for name, item in results["queries"].items():
        verdict = "met" if item["api_s"] < TARGET_S else "MISSED"
        lines.append(f"| {name} | {item['api_s'] * 1e3:.0f} ms | {item['answer']} | < 0.5 s: {verdict} |")
    for name, seconds in results["cli"].items():
        lines.append(f"| process: {name} | {seconds * 1e3:.0f} ms | whole command | |")
    crab_result = results.get("crab_1d")
    if crab_result:
        verdict = "met" if crab_result["exit_to_indexed_s"] < 1 else "MISSED"
        lines.append(f"| crab_1d under autoprov (background export and index) | {crab_result['run_wall_s']:.1f} s | the run's own wall time | |")
        for label, item in crab_result["export_step_ms"].items():
            lines.append(f"| index hook in the run's process, {label} (ExportStep with - without) | {item['with'] - item['without']:+.2f} ms | "
                         f"{item['without']:.1f} -> {item['with']:.1f} ms | no added time |")
        lines += [
            f"| crab_1d: process exit -> run in the index | {crab_result['exit_to_indexed_s']:.2f} s | detached `autoprov index` | < 1 s: {verdict} |",
            f"| crab_1d: indexing alone, in process | {crab_result['in_process_index_s'] * 1e3:.0f} ms | load + rows + insert | |",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
