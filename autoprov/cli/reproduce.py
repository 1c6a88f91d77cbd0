"""``autoprov verify RUN`` and ``autoprov rerun RUN``: is the record still true, does it reproduce?

``verify`` hashes the run's program, inputs and outputs again and prints one row per file; status
0 when none changed.  ``rerun`` refuses when the program or an input changed (the list is printed;
``--force`` re-runs anyway), runs the program again in a scratch folder and prints one row per
output (same or differs, and how); status 0 only when every output reproduced and the program
ended as it did in the run.  See :mod:`autoprov.reproduce`.
"""

from __future__ import annotations

import os
import sys

from ..errors import ReproduceError
from .options import run_folder, store_parser


def _shown(path: str, cwd: str) -> str:
    """A path relative to the run's working directory when inside it."""
    relative = os.path.relpath(path, cwd) if cwd else path
    return path if relative.startswith("..") else relative


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    lines = []
    for row in (header, *rows):
        lines.append("  ".join(f"{cell:<{widths[i]}}" for i, cell in enumerate(row[:-1])) + "  " + row[-1])
    return "\n".join(line.rstrip() for line in lines)


def _check_rows(checks, cwd: str) -> list[tuple[str, ...]]:
    rows = []
    for check in checks:
        item = check.file
        detail = ""
        if check.state == "changed":
            detail = f"{item.algorithm} {item.digest[:16]}... -> {check.now[:16]}..."
        elif check.state == "same":
            detail = f"{item.algorithm} {item.digest[:16]}..."
        elif check.state == "missing":
            detail = "no such file now"
        rows.append((check.state, check.kind, _shown(item.path, cwd), detail))
    return rows


def verify_command(argv: list[str]) -> int:
    """Print the table; status 0 when no file changed, 1 otherwise."""
    parser = store_parser("autoprov verify", run=True, description="Check that a run's program, inputs and outputs are unchanged.")
    options = parser.parse_args(argv)
    run_dir = run_folder(options)
    from ..export import load
    from ..reproduce.verify import check_run

    model = load(run_dir)
    checks = check_run(model)
    cwd = str(model.info.get("cwd") or "")
    if checks:
        print(_table(_check_rows(checks, cwd), ("state", "kind", "file", "digest")))
    changed = [check for check in checks if check.changed]
    print(f"autoprov: verify {model.run_id}: {len(checks)} files, "
          + (f"{len(changed)} changed" if changed else "none changed"), file=sys.stderr)
    return 1 if changed else 0


def rerun_command(argv: list[str]) -> int:
    """Refuse or re-run, then print the comparison table."""
    parser = store_parser("autoprov rerun", run=True, description="Run a recorded program again in a scratch folder and compare its outputs.")
    parser.add_argument("--into", default=None, metavar="DIR", help="scratch folder (new or empty; default: a new temporary directory)")
    parser.add_argument("--force", action="store_true", help="re-run even when the program or inputs changed since the run")
    parser.add_argument("--rtol", type=float, default=0.0, help="relative tolerance for numbers in FITS, YAML, JSON and text (default 0)")
    parser.add_argument("--atol", type=float, default=0.0, help="absolute tolerance for numbers (default 0)")
    options = parser.parse_args(argv)
    run_dir = run_folder(options)
    from ..export import load
    from ..reproduce.compare import Tolerance
    from ..reproduce.rerun import changed_inputs, execute, plan, scratch_folder

    model = load(run_dir)
    cwd = str(model.info.get("cwd") or "")
    changed = changed_inputs(model)
    if changed:
        print(_table(_check_rows(changed, cwd), ("state", "kind", "file", "digest")))
        if not options.force:
            raise ReproduceError(f"{len(changed)} of the run's inputs changed since it ran (listed above); --force re-runs anyway")
        print(f"autoprov: rerun {model.run_id}: --force: re-running with {len(changed)} changed inputs", file=sys.stderr)
    scratch = scratch_folder(options.into)
    try:
        steps = plan(model, scratch)
    except ReproduceError:
        if not any(scratch.iterdir()):
            scratch.rmdir()  # refused before anything was made: leave no empty folder behind
        raise
    for note in steps.notes:
        print(f"autoprov: rerun {model.run_id}: note: {note}", file=sys.stderr)
    result = execute(steps, Tolerance(options.rtol, options.atol))
    rows = [(row.output, "same" if row.comparison.same else "differs", row.comparison.how) for row in result.rows]
    rows += [(path, "new", "written by the re-run only") for path in result.new]
    if rows:
        print(_table(rows, ("output", "result", "how")))
    differing = sum(1 for row in result.rows if not row.comparison.same)
    expected = model.exit_code or 0
    ended = "" if result.returncode == expected else f"; the program ended with status {result.returncode}, not {expected}"
    count = len(result.rows)
    verdict = (f"all {count} outputs reproduced" if count != 1 else "its output reproduced") if not differing else f"{differing} of {count} outputs differ"
    where = f"outputs in {result.plan.cwd}" + (f", record {result.record}" if result.record else "")
    print(f"autoprov: rerun {model.run_id}: {verdict}{ended} ({where})", file=sys.stderr)
    return 0 if not differing and not ended else 1
