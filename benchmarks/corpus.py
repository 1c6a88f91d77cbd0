"""The corpus table (issue 19): every script of tests/corpus/ under plain python and under autoprov.

    python benchmarks/corpus.py                      # the table, runs one at a time
    python benchmarks/corpus.py --callgrind data_hess_dl3,catalogs_masks,map_ring_background
    python benchmarks/corpus.py --scripts survey_map --jobs 2

Per script: whether status, stdout, stderr and written files were the same (``same``), the data
files read (seen by the plain run's own audit hook) and how many of them the record has as used
with a digest, how its products are traced back to the inputs (recorded / inferred / none), and
the CPU time of the program's own process under autoprov over plain python, from one pair of runs
(a clean plain run, without the audit hook): on a shared machine this varies by 10-15 %.  With
``--callgrind``, those scripts also run under ``valgrind --tool=callgrind`` (the program's own
process only; autoprov's detached exporter is not traced), and the table gives the ratio of
instructions, which does not depend on the machine's load.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from corpus_check import (CORPUS, data_reads, is_data_input, recorded_reads, run, same_content,  # noqa: E402
                          strip_summary, trace, written_files)


def outcome(plain, captured) -> str:
    if plain.returncode != captured.returncode:
        return f"status {plain.returncode}->{captured.returncode}"
    if plain.stdout != captured.stdout:
        return "stdout differs"
    stderr, run_id = strip_summary(captured.stderr)
    if run_id is None or stderr != plain.stderr:
        return "stderr differs"
    a, b = written_files(plain.folder), written_files(captured.folder)
    if sorted(a) != sorted(b):
        return "files differ"
    if any(same_content(a[name], b[name]) for name in a):
        return "content differs"
    return "same" if plain.returncode == 0 else f"same (exit {plain.returncode})"


def row(script: str, base: Path) -> dict:
    path = CORPUS / f"{script}.py"
    audited = run(path, base / script / "audited", autoprov=False, audit=True)
    plain = run(path, base / script / "plain", autoprov=False)
    captured = run(path, base / script / "autoprov", autoprov=True)
    read = data_reads(audited.opened, audited.folder)
    recorded = recorded_reads(captured.folder)
    with_digest = {p for p in read if p in recorded and all(e.digest for e in recorded[p])}
    traces = {name: trace(captured.folder, p, is_data_input) for name, p in written_files(captured.folder).items()}
    counts = {status: sum(1 for t in traces.values() if t.status == status) for status in ("recorded", "inferred", "none")}
    return {
        "script": script, "status": outcome(audited, captured), "read": len(read), "recorded": len(with_digest),
        "traces": counts, "untraced": sorted(name for name, t in traces.items() if t.status == "none"),
        "inferred": sorted(name for name, t in traces.items() if t.status == "inferred"),
        "cpu_plain": plain.cpu, "cpu_autoprov": captured.cpu,
    }


def instructions(script: str, base: Path, autoprov: bool) -> int:
    """Instructions of the program's own process under callgrind (Ir total)."""
    folder = base / script / ("callgrind-autoprov" if autoprov else "callgrind-plain")
    out = folder.parent / f"{folder.name}.callgrind"
    prefix = ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}")
    done = run(CORPUS / f"{script}.py", folder, autoprov=autoprov, prefix=prefix, timeout=7200)
    if done.returncode != 0:
        raise RuntimeError(f"{script} under callgrind: exit {done.returncode}\n{done.stderr[-2000:]}")
    match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(errors="replace"), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no instruction total in {out}")
    return int(match.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripts", default="", help="comma list of corpus scripts (default: all)")
    parser.add_argument("--callgrind", default="", help="comma list of scripts to count instructions of")
    parser.add_argument("--jobs", type=int, default=1, help="scripts run side by side (CPU ratios get noisier)")
    parser.add_argument("--keep", action="store_true", help="keep the run folders")
    options = parser.parse_args(argv)
    scripts = [s for s in options.scripts.split(",") if s] or sorted(p.stem for p in CORPUS.glob("*.py"))
    base = Path(tempfile.mkdtemp(prefix="autoprov-corpus-"))
    try:
        with ThreadPoolExecutor(options.jobs) as pool:
            rows = list(pool.map(lambda name: row(name, base), scripts))
        calls = {}
        for script in [s for s in options.callgrind.split(",") if s]:
            if shutil.which("valgrind") is None:
                print("valgrind not found: no instruction counts", file=sys.stderr)
                break
            calls[script] = (instructions(script, base, False), instructions(script, base, True))
        print("| script | status | files read / recorded with digest | products recorded / inferred / none | CPU autoprov/plain (s) | ratio | instructions autoprov/plain |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            counted = calls.get(r["script"])
            ir = f"{counted[1] / counted[0]:.4f} ({counted[1]:,} / {counted[0]:,})" if counted else ""
            t = r["traces"]
            print(f"| {r['script']} | {r['status']} | {r['read']} / {r['recorded']} | {t['recorded']} / {t['inferred']} / {t['none']} "
                  f"| {r['cpu_autoprov']:.2f} / {r['cpu_plain']:.2f} | {r['cpu_autoprov'] / r['cpu_plain']:.3f} | {ir} |")
        print("\nnot traced: " + ("; ".join(f"{r['script']}: {', '.join(r['untraced'])}" for r in rows if r["untraced"]) or "none"))
        print("inferred only: " + ("; ".join(f"{r['script']}: {', '.join(r['inferred'])}" for r in rows if r["inferred"]) or "none"))
        print("(CPU: the program's own process, one pair of runs per script; noisy on a shared machine, 10-15 %)")
    finally:
        if options.keep:
            print(f"run folders kept in {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
