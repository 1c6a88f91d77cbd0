"""Run autoprov's overhead benchmarks and print the table (``make bench``, ``make bench-smoke``).

Every figure is relative to plain ``python`` measured in the same invocation (see harness.py),
for each capture engine the chosen interpreter offers.  The JSON result goes to
``benchmarks/results/`` (git-ignored).  ``--smoke`` runs every case small and once, in seconds:
it checks that the cases run and the table is produced, not speed.

    python benchmarks/run.py [--smoke] [--python /tmp/v311/bin/python] [--only real,matched,...]
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases  # noqa: E402
from harness import ChildFailed, Variant, adopt_orphans, interleaved, run_child  # noqa: E402
from report import format_table  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FLOORS = Path(__file__).resolve().parent / "floors"
GROUPS = ("real", "unmatched", "files", "startup", "matched", "export")
EXPORTER_MISSING = "exporter not available"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round: checks that every case runs")
    parser.add_argument("--python", default=sys.executable, help="interpreter to benchmark (default: this one)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma list of {', '.join(GROUPS)}")
    parser.add_argument("--rounds", type=int, default=None, help="plain/traced pairs per variant (default 5, smoke 1)")
    parser.add_argument("--output", default=None, help="JSON result path (default benchmarks/results/...)")
    parser.add_argument("--commit", default=None, metavar="REV",
                        help="benchmark autoprov as committed at REV (a snapshot), not the working tree, which may change during a long run")
    parser.add_argument("--all-engines", action="store_true",
                        help="also time setprofile (and settrace on 3.12) on the real analyses (skipped by default: "
                             "only used when settrace, or sys.monitoring, is taken)")
    parser.add_argument("--cores", default=",".join(cases.CORES), help="comma list of autoprov cores to time: native,pure")
    parser.add_argument("--cases", default=None, metavar="NAMES", help="comma list of case names to run (default: every case of the groups)")
    parser.add_argument("--references", default="tools,floors", metavar="KINDS",
                        help="beside autoprov on the real analyses: tools (cProfile, viztracer), floors (bare mechanisms), both or none")
    return parser.parse_args(argv)


def interpreter_version(python: str) -> tuple[int, int]:
    out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True, check=True)
    major, minor = out.stdout.split()
    return int(major), int(minor)


def child_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GAMMAPY_DATA", str(cases.REPO.parent / "shared" / "data" / "gammapy-data"))
    env["AUTOPROV_STORE"] = str(tmp / "store")  # runs are recorded, then thrown away with tmp
    env.setdefault("MPLBACKEND", "Agg")
    return env


def snapshot(revision: str, into: Path, python: str) -> str:
    """Extract autoprov and its shipped filters as committed at ``revision`` and build its native
    core there with ``python``; returns the short hash.

    Children then import this copy through PYTHONPATH, which comes before the editable install's
    finder, so edits made to the working tree while the benchmark runs change nothing measured.
    """
    commit = subprocess.run(["git", "rev-parse", "--short", revision], cwd=cases.REPO, capture_output=True,
                            text=True, check=True).stdout.strip()
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit, "autoprov", "filters"], cwd=cases.REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    (into / "autoprov" / "shipped_filters").symlink_to(into / "filters")  # as pyproject's package-dir maps it
    source = into / "autoprov" / "_native.c"
    if source.exists():  # the snapshot's own native core, not the working tree's build
        subprocess.run([python, str(FLOORS / "build.py"), str(into), str(source), "autoprov/_native"], check=True,
                       capture_output=True)
    return commit


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cases.REPO, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "autoprov"], cwd=cases.REPO,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except OSError:
        return "unknown"


class Bench:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.mode = "smoke" if options.smoke else "full"
        self.python = os.path.abspath(options.python)  # children run in another directory
        self.version = interpreter_version(self.python)
        self.engines = cases.engines_for(self.version)
        self.rounds = options.rounds or cases.ROUNDS[self.mode]
        self.filter_note = "default (filters/gammapy.yaml)"  # the shipped filter, as users run it
        self.tmp = Path(tempfile.mkdtemp(prefix="autoprov-bench-"))
        self.env = child_env(self.tmp)
        # children run outside the repository: `python -m autoprov` puts its working directory first
        # on sys.path, which would import the working tree instead of a --commit snapshot
        self.workdir = self.tmp / "work"
        self.workdir.mkdir()
        self.commit = git_commit()
        if options.commit:
            self.commit = snapshot(options.commit, self.tmp / "source", self.python) + " (snapshot)"
            self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.tmp / "source"), self.env.get("PYTHONPATH")]))
        self.fallback = self.version < (3, 12)
        self.reaps_background = adopt_orphans()  # each run's detached export ends before the next run
        self.compile_bytecode()
        self.cores = [core for core in options.cores.split(",") if core]
        self.floors = self.build_floors()
        self.viztracer = self.has_module("viztracer")
        version = ".".join(map(str, self.version))
        self.output = Path(options.output) if options.output else (
            RESULTS / f"{time.strftime('%Y%m%dT%H%M%S')}-py{version}-{self.mode}.json")

    def size(self, pair: tuple[Any, Any]) -> Any:
        return pair[1] if self.options.smoke else pair[0]

    def autoprov_variant(self, engine: str, core: str) -> Variant:
        return Variant(f"{engine}/{core}", ("-m", "autoprov", "--engine", engine, "--quiet"), (("AUTOPROV_CORE", core),))

    def autoprov_variants(self, engines: list[str]) -> list[Variant]:
        return [self.autoprov_variant(engine, core) for engine in engines for core in self.cores
                if not (engine == "evalframe" and core == "pure")]  # no pure twin: settrace is its fallback

    def compile_bytecode(self) -> None:
        """Byte-compile the autoprov measured, as ``pip install`` does for an installed package:
        with PYTHONDONTWRITEBYTECODE set (as on this machine) every run would otherwise compile
        autoprov's sources again, ~0.1 s that no installed autoprov pays."""
        code = "import autoprov, compileall, os; compileall.compile_dir(os.path.dirname(autoprov.__file__), quiet=1)"
        subprocess.run([self.python, "-c", code], cwd=self.workdir, env=self.env, check=True, capture_output=True)

    def has_module(self, name: str) -> bool:
        done = subprocess.run([self.python, "-c", f"import {name}"], capture_output=True)
        return done.returncode == 0

    def build_floors(self) -> Path | None:
        """Compile the bare-mechanism extension for the benchmarked interpreter (None: no compiler)."""
        done = subprocess.run([self.python, str(FLOORS / "build.py"), str(self.tmp / "floors")], capture_output=True, text=True)
        return Path(done.stdout.strip()) if done.returncode == 0 else None

    def reference_variants(self) -> list[Variant]:
        """What a user would pick instead (cProfile, viztracer) and the floors: the bare mechanisms
        autoprov's engines stand on, without any autoprov code."""
        kinds = set(self.options.references.split(","))
        variants = []
        if "tools" in kinds:
            variants.append(Variant("cProfile", ("-m", "cProfile", "-o", os.devnull)))
            if self.viztracer:
                variants.append(Variant("viztracer", ("-m", "viztracer", "--quiet", "-o", str(self.tmp / "viztracer.json"))))
        if "floors" not in kinds:
            return variants
        runner = str(FLOORS / "run.py")
        if self.floors is not None:
            path = (("PYTHONPATH", os.pathsep.join(filter(None, [str(self.floors), self.env.get("PYTHONPATH")]))),)
            variants.append(Variant("floor: C audit hook", (runner, "caudit"), path))
            if self.fallback or self.options.all_engines:  # the settrace engine's floor
                variants.append(Variant("floor: empty C trace function", (runner, "ctrace"), path))
        if not self.fallback:
            variants.append(Variant("floor: monitoring DISABLE", (runner, "monitoring")))
        return variants

    # -- subprocess cases ----------------------------------------------------------------------

    def subprocess_case(self, case: cases.Subprocess, large: Path | None = None) -> dict[str, Any]:
        if self.options.smoke and not case.in_smoke:
            return {"name": case.name, "group": case.group, "skipped": "not in the smoke run (about 10 s per run)"}
        engines = self.engines
        if case.group == "real analyses":
            # on 3.11 the default engine and its fallback (evalframe, settrace) side by side
            default = engines[:2] if self.fallback and not self.options.smoke else engines[:1]
            engines = default if self.options.smoke or not self.options.all_engines else engines
        variants = self.autoprov_variants(engines)
        if case.cprofile and not self.options.smoke:
            variants += self.reference_variants()
        args = case.smoke_args if self.options.smoke else case.args
        args = tuple(a.format(tmp=self.tmp, large=large) for a in args)
        ratios, plains = interleaved(self.python, [str(cases.REPO / case.script), *args], variants, self.rounds,
                                     self.workdir, self.env, check_output=case.check_output)
        result: dict[str, Any] = {
            "name": case.name,
            "group": case.group,
            "plain_wall_s": _stats([s.wall for s in plains]),
            "plain_cpu_s": _stats([s.cpu for s in plains]),
            "plain_peak_rss_mb": _stats([s.rss / 2**20 for s in plains]),
            "variants": {},
        }
        for name, ratio in ratios.items():
            summary = ratio.summary()
            limit = self.target(case.target, name)
            if limit is not None:
                summary["target"] = limit
            result["variants"][name] = summary
        return result

    def target(self, key: str, variant: str) -> float | None:
        """The target of a variant: the default engine on the native core (the pure core's bar is
        the earlier table, see docs/performance.md)."""
        targets = cases.TARGETS.get(key)
        if not isinstance(targets, dict):
            return None
        engine, _, core = variant.partition("/")
        if core != "native":
            return None
        if engine in ("monitoring", "evalframe"):
            return targets.get(engine)
        if self.fallback and engine == "settrace":
            return targets.get("fallback")
        return None

    def startup(self) -> dict[str, Any]:
        variants = self.autoprov_variants(self.engines)
        ratios, _ = interleaved(self.python, [str(cases.REPO / cases.STARTUP.script)], variants,
                                cases.STARTUP_ROUNDS[self.mode], self.workdir, self.env)
        added = {}
        for name, ratio in ratios.items():
            added[name] = {key: value * 1000 for key, value in _stats(ratio.added_wall).items()}
            added[name]["cpu"] = {key: value * 1000 for key, value in _stats(ratio.added_cpu).items()}
            if name.endswith("/native"):
                added[name]["target"] = cases.TARGETS["startup_ms"]
        return added

    # -- in-process and export cases ----------------------------------------------------------

    def matched(self) -> dict[str, Any]:
        calls = self.size(cases.MATCHED_CALLS)
        results = {}
        for variant in self.autoprov_variants(self.engines):
            engine = variant.name.partition("/")[0]
            runs = []
            for _ in range(cases.MATCHED_REPEATS[self.mode]):
                _, out = run_child([self.python, str(cases.WORKLOADS / "matched_calls.py"), engine, str(calls)],
                                   self.workdir, {**self.env, **dict(variant.env)}, capture=True)
                runs.append(json.loads(out))
            merged = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            merged["repeats"] = len(runs)
            if variant.name == "monitoring/native":
                merged["target"] = cases.TARGETS["matched_us"]
            results[variant.name] = merged
        return results

    def unmatched_inprocess(self) -> dict[str, Any]:
        calls = self.size(cases.UNMATCHED_INPROCESS_CALLS)
        results = {}
        for variant in self.autoprov_variants(self.engines):
            engine = variant.name.partition("/")[0]
            _, out = run_child([self.python, str(cases.WORKLOADS / "unmatched_inprocess.py"), engine, str(calls), str(self.rounds)],
                               self.workdir, {**self.env, **dict(variant.env)}, capture=True)
            results[variant.name] = json.loads(out)
            if variant.name == "monitoring/native":
                results[variant.name]["target"] = cases.TARGETS["unmatched"]["monitoring"]
        return results

    def large_file(self) -> Path:
        path = self.tmp / "large.bin"
        block = os.urandom(1 << 20)
        with open(path, "wb") as out:
            for _ in range(self.size(cases.LARGE_FILE_MB)):
                out.write(block)
        return path

    def export(self) -> dict[str, Any]:
        activities = self.size(cases.EXPORT_ACTIVITIES)
        run_dir = self.tmp / "synthetic-run"
        run_child([self.python, str(Path(__file__).resolve().parent / "synthetic.py"), str(run_dir), str(activities)],
                  self.workdir, self.env)
        formats: dict[str, Any] = {}
        for fmt in cases.EXPORT_FORMATS:
            argv = [self.python, str(cases.WORKLOADS / "export_run.py"), str(run_dir), fmt, str(self.tmp / f"export.{fmt}")]
            try:
                sample, out = run_child(argv, self.workdir, self.env, capture=True)
            except ChildFailed as error:
                text = str(error)
                formats[fmt] = {"error": EXPORTER_MISSING if "exited with 3" in text else text.splitlines()[-1][:200]}
                continue
            entry = json.loads(out)
            entry.update(wall_s=sample.wall, cpu_s=sample.cpu, peak_rss_mb=sample.rss / 2**20)
            if fmt == "json":
                entry.update(target_s=cases.TARGETS["export_json_s"], target_rss_mb=cases.TARGETS["export_rss_mb"])
            formats[fmt] = entry
        return {"activities": activities, "entities": 2 * activities,
                "log_mb": (run_dir / "events.jsonl").stat().st_size / 2**20, "formats": formats}

    # -- the whole run -------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        only = set(self.options.only.split(","))
        unknown = only - set(GROUPS)
        if unknown:
            raise SystemExit(f"benchmarks: unknown group(s) {', '.join(sorted(unknown))}; choose from {', '.join(GROUPS)}")
        result: dict[str, Any] = {"meta": self.meta(), "subprocess": []}
        started = time.perf_counter()
        selected = []
        if "real" in only:
            selected += cases.REAL
        if "unmatched" in only:
            selected += cases.UNMATCHED
        large = None
        if "files" in only:
            selected += cases.FILES
            large = self.large_file()
        if self.options.cases:
            names = set(self.options.cases.split(","))
            selected = [case for case in selected if case.name in names]
        for case in selected:
            _progress(f"{case.group}: {case.name}")
            result["subprocess"].append(self.subprocess_case(case, large))
            self.save(result)
        if "unmatched" in only:
            _progress("unmatched calls in process")
            result["unmatched_inprocess"] = self.unmatched_inprocess()
        if large is not None:
            result["hashing"] = self.hashing(result["subprocess"], large)
        if "startup" in only:
            _progress("start-up")
            result["startup"] = self.startup()
        if "matched" in only:
            _progress("matched calls")
            result["matched"] = self.matched()
        if "export" in only:
            _progress("export")
            result["export"] = self.export()
        result["meta"]["load_after"] = _load()
        result["meta"]["uptime_after"] = _uptime()
        result["meta"]["seconds"] = round(time.perf_counter() - started, 1)
        result["table"] = format_table(result)
        self.save(result)
        return result

    def save(self, result: dict[str, Any]) -> None:
        """Write the result so far (a failure late in a long run keeps the finished cases)."""
        result["meta"].setdefault("load_after", "(running)")
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.output.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")

    def hashing(self, done: list[dict[str, Any]], large: Path) -> dict[str, Any]:
        size_mb = large.stat().st_size / 2**20
        case = next(c for c in done if c["name"] == "large file read")
        rates = {}
        for name, summary in case.get("variants", {}).items():
            added = summary["added_wall_s"]["median"]
            rates[name] = size_mb / added if added > 0 else float("inf")
        return {"size_mb": round(size_mb), "throughput_mb_s": rates}

    def meta(self) -> dict[str, Any]:
        return {
            "python": ".".join(map(str, self.version)),
            "interpreter": self.python,
            "mode": self.mode,
            "rounds": self.rounds,
            "engines": self.engines,
            "cores": self.cores,
            "uptime": _uptime(),
            "filter": self.filter_note,
            "commit": self.commit,
            "cpus": os.cpu_count(),
            "load_before": _load(),
            "background_waited": self.reaps_background,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        }


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _uptime() -> str:
    """What `uptime` says (the load others put on this shared machine), stated with every result."""
    done = subprocess.run(["uptime"], capture_output=True, text=True)
    return done.stdout.strip()


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _progress(message: str) -> None:
    print(f"bench: {message} ...", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    bench = Bench(options)
    try:
        result = bench.run()
    except ChildFailed as error:
        print(f"bench: a run failed: {error}", file=sys.stderr)
        return 1
    finally:
        subprocess.run(["rm", "-rf", str(bench.tmp)], check=False)
    print(result["table"])
    print(f"\nresult: {bench.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
