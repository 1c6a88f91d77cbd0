"""Instruction counts of autoprov's overhead, under valgrind's callgrind (``make bench-instr``).

A plain run's CPU time varies 10-15 % on the shared machines, so a 3 % overhead cannot be resolved
by timing; callgrind counts the same instructions for the same program whatever the load.  Each
case runs as ``python script.py`` (plain), ``python -m autoprov script.py`` (the default engine,
native core) and under the bare floors (a C audit hook returning at once; ``sys.monitoring``
PY_START returning DISABLE), two callgrind processes at a time.  Only the program's own process is
counted (``--trace-children=no``): autoprov's export runs detached after the program exits.

autoprov's share is split by the inclusive cost of its C entry points (``callgrind_annotate
--inclusive=yes``):

* hook: ``audit_hook``, split into non-file events and file events (``audit_watched``: the Python
  handler it calls);
* decisions: ``decide_code`` (module and code-object decisions, their Python calls included; every
  engine's decisions go through it);
* recording: the monitoring / trace callbacks (``Monitor_on_*``, ``frame_event``) less decisions; on
  3.11's evalframe engine, ``deliver`` (its calls of the recorder);
* start-up and end of run: whatever autoprov's process runs outside the program, that is its total
  less ``exec_as_main`` (the program) against plain's total less ``_PyRun_SimpleFileObject``; the empty script's
  figure is the start-up part, the rest of it is the end of the run;
* the program's own code, run more: the interpreter's work for each audit event and monitoring
  callback (the floors measure it: ``--floors``) and Python run outside the callbacks.

GCC's clones (``decide_code.part.0.constprop.0``) count as their function.

``--top N`` then names the rest: the N source files, and the N functions, whose own cost (callgrind's
self cost, which has no recursion to double-count) grew the most from plain to autoprov.  The file
says which part of the interpreter paid (``gcmodule.c``: the cyclic collector; ``sysmodule.c``:
audit events; ``instrumentation.c``: ``sys.monitoring``; ``marshal.c``: loading modules' code;
``_native.c``: autoprov's C).

    python benchmarks/instr.py [--cases crab_1d,...] [--floors] [--jobs 2]
    python benchmarks/instr.py events      instructions per non-file audit event, native hook

Callgrind runs ~50x slower than the program: a 10 s analysis takes ~8 minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases  # noqa: E402

HERE = Path(__file__).resolve().parent
INSTR = HERE / "instr"
ENTRY_POINTS = ("_PyRun_SimpleFileObject", "exec_as_main", "audit_hook", "audit_watched", "decide_code",
                "Monitor_on_start", "Monitor_on_return", "Monitor_on_unwind", "Monitor_on_yield", "Monitor_on_resume",
                "frame_event", "deliver")
# "1,234 (0.5%)  file.c:function [object]"; GCC's clones keep the name with a suffix
# (decide_code.part.0.constprop.0), which belongs to the function; a recursion level's own line ends
# the name in 'N (skipped: the outermost level's inclusive cost holds it)
LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?\S*?:(\w+)(?:\.[a-z_]+(?:\.\d+)?)*(?:\s|$)")


def callgrind(command: list[str], out: Path, env: dict[str, str], cwd: Path) -> Path:
    """Run ``command`` under callgrind into ``out``; raise when the program fails."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--trace-children=no", f"--callgrind-out-file={out}", *command],
                          env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed under callgrind:\n{done.stderr[-3000:]}")
    return out


# "1,234 (0.5%)  /path/to/file.c:function [object]" of callgrind_annotate
SELF_LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S*?):([\w.']+)(?:\s|$)")


def annotated(out: Path, inclusive: bool) -> list[str]:
    """callgrind_annotate's lines for a callgrind file.  It runs in the file's own folder: where the
    extension's relative source path resolves (the checkout it was built in) it lists each of its
    functions twice, under two spellings of the path."""
    return subprocess.run(["callgrind_annotate", "--auto=no", f"--inclusive={'yes' if inclusive else 'no'}",
                           "--threshold=100", str(out.resolve())], capture_output=True, text=True, check=True,
                          cwd=out.resolve().parent).stdout.splitlines()


def totals(out: Path) -> tuple[int, dict[str, int]]:
    """(program total, inclusive instructions of each entry point found) of a callgrind file."""
    lines = annotated(out, inclusive=True)
    total = int(re.search(r"^([\d,]+).*PROGRAM TOTALS", "\n".join(lines), re.M).group(1).replace(",", ""))
    found: dict[str, int] = {}
    for line in lines:
        match = LINE.match(line)
        if match and match.group(2) in ENTRY_POINTS:
            found[match.group(2)] = found.get(match.group(2), 0) + int(match.group(1).replace(",", ""))
    return total, found


def self_costs(out: Path) -> dict[tuple[str, str], int]:
    """Self instructions of each (source file, function) of a callgrind file, clones and
    recursion levels folded into their function."""
    found: dict[tuple[str, str], int] = {}
    for line in annotated(out, inclusive=False):
        match = SELF_LINE.match(line)
        if match is None or "PROGRAM TOTALS" in line:
            continue
        function = re.sub(r"(?:\.[a-z_]+(?:\.\d+)?)+$|'\d+$", "", match.group(3))
        key = (os.path.basename(match.group(2)) or "???", function)
        found[key] = found.get(key, 0) + int(match.group(1).replace(",", ""))
    return found


def grown(plain: Path, traced: Path, top: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The ``top`` source files and functions whose self cost grew the most, with the growth."""
    before, after = self_costs(plain), self_costs(traced)
    by_function: dict[str, int] = {}
    by_file: dict[str, int] = {}
    for key in set(before) | set(after):
        extra = after.get(key, 0) - before.get(key, 0)
        by_function[f"{key[0]}:{key[1]}"] = by_function.get(f"{key[0]}:{key[1]}", 0) + extra
        by_file[key[0]] = by_file.get(key[0], 0) + extra
    def largest(counts: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda item: -item[1])[:top]
    return largest(by_file), largest(by_function)


def components(plain: tuple[int, dict[str, int]], traced: tuple[int, dict[str, int]]) -> dict[str, int]:
    """autoprov's extra instructions by component (see the module docstring)."""
    plain_total, plain_parts = plain
    total, parts = traced
    callbacks = sum(count for name, count in parts.items() if name.startswith("Monitor_on_") or name == "frame_event")
    program = parts.get("exec_as_main", 0)
    outside = (total - program) - (plain_total - plain_parts.get("_PyRun_SimpleFileObject", 0))
    hook = parts.get("audit_hook", 0)
    decisions = parts.get("decide_code", 0)
    if "deliver" in parts:  # the evalframe engine (3.11): it decides outside the recorder's calls
        callbacks = parts["deliver"] + decisions
    # CPython's own functions are left out: their inclusive costs are unreliable where they recurse
    # (callgrind_annotate counts a cycle's calls more than once); the floors measure that share whole
    found = {"hook: non-file events": hook - parts.get("audit_watched", 0),
             "hook: file events (Python handler)": parts.get("audit_watched", 0),
             "decisions": decisions, "recording": callbacks - decisions, "outside the program": outside}
    found["the program's own code, run more"] = (total - plain_total) - sum(found.values())
    return found


def variants(python: str, floors: bool) -> dict[str, list[str]]:
    found = {"plain": [python], "autoprov": [python, "-m", "autoprov", "--quiet"]}
    if floors:
        found["floor: C audit hook"] = [python, str(HERE / "floors" / "run.py"), "caudit"]
        found["floor: monitoring DISABLE"] = [python, str(HERE / "floors" / "run.py"), "monitoring"]
    return found


def run_cases(options: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="autoprov-instr-"))
    env = dict(os.environ, AUTOPROV_STORE=str(tmp / "store"), MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="")
    env.setdefault("GAMMAPY_DATA", str(cases.REPO.parent / "shared" / "data" / "gammapy-data"))
    # byte-compiled as an install leaves it (PYTHONDONTWRITEBYTECODE would otherwise make every run compile)
    subprocess.run([options.python, "-c", "import autoprov, compileall, os; "
                    "compileall.compile_dir(os.path.dirname(autoprov.__file__), quiet=1)"], check=True, env=env, cwd=tmp)
    if options.floors:
        subprocess.run([options.python, str(HERE / "floors" / "build.py"), str(tmp / "floors")], check=True)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp / "floors"), env.get("PYTHONPATH")]))
    chosen = {case.name: case for case in [*cases.REAL, cases.STARTUP]}
    names = options.cases.split(",")
    jobs = []
    for name in names:
        case = chosen[name]
        args = [arg.format(tmp=tmp) for arg in case.args]
        for label, prefix in variants(options.python, options.floors).items():
            if options.only and label.split(":")[-1].split()[0] not in options.only.split(","):
                continue
            jobs.append((name, label, [*prefix, str(cases.REPO / case.script), *args]))
    with ThreadPoolExecutor(options.jobs) as pool:
        outs = list(pool.map(lambda job: callgrind(job[2], tmp / f"{job[0]}.{job[1][:12].replace(' ', '_')}.out", env,
                                                   tmp), jobs))
    results = {(name, label): totals(out) for (name, label, _), out in zip(jobs, outs)}
    if options.only:  # a partial run: the raw figures only
        for (name, label), (total, parts) in results.items():
            print(f"{name:<18} {label:<26} {total:>16,} {parts}")
        if not options.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip()
    version = subprocess.run([options.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True).stdout.strip()
    print(f"instructions (callgrind), Python {version} at {options.python}, commit {commit}")
    print(f"{'case':<18} {'variant':<26} {'G instr':>9} {'ratio':>7}")
    for name in names:
        plain = results[(name, "plain")]
        for label in variants(options.python, options.floors):
            total = results[(name, label)][0]
            print(f"{name:<18} {label:<26} {total / 1e9:>9.3f} {total / plain[0]:>7.4f}")
        extra = components(plain, results[(name, "autoprov")])
        print(f"{'':<18} autoprov's extra by component (M instructions):")
        for part, count in extra.items():
            print(f"{'':<20} {part:<22} {count / 1e6:>10.1f}")
        if options.top:
            files, functions = grown(outs[jobs.index(next(j for j in jobs if j[:2] == (name, "plain")))],
                                     outs[jobs.index(next(j for j in jobs if j[:2] == (name, "autoprov")))], options.top)
            print(f"{'':<18} the source files whose own cost grew most (M instructions):")
            for label, count in files:
                print(f"{'':<20} {label:<40} {count / 1e6:>10.1f}")
            print(f"{'':<18} the functions whose own cost grew most (M instructions):")
            for label, count in functions:
                print(f"{'':<20} {label[:60]:<60} {count / 1e6:>10.1f}")
    if not options.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"callgrind files kept in {tmp}")


def per_event(options: argparse.Namespace) -> None:
    """Instructions of the native hook per non-file audit event: ``audit_hook``'s inclusive cost over
    COUNT ``id()`` calls, and the same for a bare C hook (the floor)."""
    tmp = Path(tempfile.mkdtemp(prefix="autoprov-events-"))
    subprocess.run([options.python, str(HERE / "floors" / "build.py"), str(tmp)], check=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tmp), os.environ.get("PYTHONPATH")])))
    count = 200_000
    for mode in ("floor", "native"):
        out = callgrind([options.python, str(INSTR / "audit_events.py"), mode, str(count)], tmp / f"{mode}.out", env, tmp)
        cost = sum(int(m.group(1).replace(",", "")) for m in map(LINE.match, annotated(out, inclusive=False))
                   if m and m.group(2) == "audit_hook")
        print(f"{mode:<7} audit_hook: {cost / count:.1f} instructions per event (its own cost over {count:,} id() calls; "
              f"the few other events of the run included)")
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="cases", choices=("cases", "events"))
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--cases", default="crab_1d,crab_3d_analysis,simulate_3d,empty script")
    parser.add_argument("--floors", action="store_true", help="also the bare floors (C audit hook, monitoring DISABLE)")
    parser.add_argument("--jobs", type=int, default=2, help="callgrind processes at once (counts do not depend on it)")
    parser.add_argument("--only", default="", help="comma list of variants' first words (plain, autoprov, C, monitoring): raw figures only")
    parser.add_argument("--keep", action="store_true", help="keep the callgrind files")
    parser.add_argument("--top", type=int, default=0, metavar="N",
                        help="also the N source files and functions whose own cost grew most (autoprov against plain)")
    parser.add_argument("--diff", nargs=2, metavar=("PLAIN", "AUTOPROV"), type=Path,
                        help="only compare two kept callgrind files (with --top, default 15)")
    options = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    if options.diff:
        plain, traced = options.diff
        base, mine = totals(plain), totals(traced)
        print(f"plain {base[0] / 1e9:.3f} G, autoprov {mine[0] / 1e9:.3f} G: {mine[0] / base[0]:.4f}x")
        for part, count in components(base, mine).items():
            print(f"  {part:<40} {count / 1e6:>10.1f} M")
        files, functions = grown(plain, traced, options.top or 15)
        for title, rows in (("source file", files), ("function", functions)):
            print(f"{title:<64} {'M instructions more':>20}")
            for label, count in rows:
                print(f"{label[:64]:<64} {count / 1e6:>20.1f}")
        return
    per_event(options) if options.what == "events" else run_cases(options)


if __name__ == "__main__":
    main()
