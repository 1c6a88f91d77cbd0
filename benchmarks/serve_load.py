"""Load on ``autoprov serve`` (``make bench-serve``): concurrent clients asking a 50-run lineage.

1. A store of synthetic runs is written with autoprov's own log writer, as the index benchmark does
   (``benchmarks/index_bench.py``): ``--runs`` independent runs (default 200) and a chain of 50 runs,
   each reading the file the one before wrote; it is indexed into SQLite, and with ``--postgres URL``
   (or ``--start-postgres``: a throwaway server, as the tests start one) into PostgreSQL as well.
2. A real ``autoprov serve`` process serves it on a loopback port.
3. ``--clients`` threads (default 16), each with its own HTTP connection, ask
   ``/provsap?ID=<the chain's last file>&DEPTH=ALL`` (PROV-JSON: 50 steps back to the DL3 file) until
   ``--requests`` answers each (default 20) or ``--seconds`` (default 300) have passed, whichever
   comes first.  Every answer must be 200 and hold the 50 runs; latency is per request, wall clock.

Prints p50/p95/max latency, requests per second and errors per database, and writes
``benchmarks/results/serve-<time>.json``.
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
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

CHAIN = 50


def make_store(folder: Path, runs: int) -> str:
    """Independent runs and a 50-run chain; the chain's last file as a ProvSAP ID (its digest)."""
    import xxhash

    from index_bench import write_run

    dl3 = [f"/data/dl3/obs_{n:05d}.fits.gz" for n in range(20)]
    for number in range(runs):
        write_run(folder, number, 50, [dl3[number % 20]], f"/data/out/night_{number}.fits")
    source = dl3[0]
    for link in range(CHAIN):
        output = f"/data/chain/step_{link}.fits"
        write_run(folder, runs + link, 50, [source], output)
        source = output
    return "xxh3_128:" + xxhash.xxh3_128_hexdigest(source.encode())  # index_bench's stand-in content


def serve(store: str, cwd: Path, token: str | None = None) -> tuple[subprocess.Popen, str]:
    """A real ``autoprov serve`` on a free loopback port; (process, base URL) once it listens."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    if token:
        environment["AUTOPROV_SERVE_TOKEN"] = token
    process = subprocess.Popen([sys.executable, "-m", "autoprov", "serve", "--store", store, "--port", "0"], cwd=cwd,
                               stderr=subprocess.PIPE, text=True, env=environment)
    banner = process.stderr.readline()  # printed once the socket listens
    if " on http://" not in banner:
        process.kill()
        raise SystemExit(f"autoprov serve did not start: {banner}{process.stderr.read()}")
    return process, banner.split(" on ")[1].split()[0]


def load(url: str, identifier: str, clients: int, requests: int, seconds: float, expect_runs: int = CHAIN) -> dict:
    """``clients`` threads asking the lineage; latencies, errors, requests per second."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    params = {"ID": identifier, "DEPTH": "ALL"}

    def client() -> None:
        with httpx.Client(base_url=url, timeout=seconds) as http:
            for _ in range(requests):
                if time.monotonic() > deadline:
                    return
                start = time.perf_counter()
                try:
                    response = http.get("/provsap", params=params)
                    problem = None if response.status_code == 200 else f"{response.status_code}: {response.text[:200]}"
                    if problem is None and len(response.json().get("activity", {})) != expect_runs:
                        problem = f"{len(response.json().get('activity', {}))} steps, not {expect_runs}"
                except httpx.HTTPError as error:
                    problem = f"{type(error).__name__}: {error}"
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if problem:
                        errors.append(problem)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "clients": clients, "requests": len(latencies), "errors": len(errors), "first_errors": errors[:3], "wall_s": wall,
        "requests_per_s": len(latencies) / wall if wall else 0.0,
        "p50_ms": statistics.median(ordered) * 1e3 if ordered else None,
        "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1e3 if ordered else None,
        "max_ms": ordered[-1] * 1e3 if ordered else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="independent runs beside the 50-run chain")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=20, help="per client")
    parser.add_argument("--seconds", type=float, default=300.0, help="time bound of each load phase")
    parser.add_argument("--postgres", default=None, metavar="URL", help="also load a PostgreSQL index (an empty database)")
    parser.add_argument("--start-postgres", action="store_true", help="start a throwaway PostgreSQL server (tests/pgserver.py)")
    options = parser.parse_args()
    from autoprov.index.api import Store
    from autoprov.store.location import StoreLocation

    work = Path(tempfile.mkdtemp(prefix="autoprov-serve-bench-"))
    server = None
    results: dict = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load_before": os.getloadavg(), "runs": options.runs + CHAIN}
    try:
        folder = work / ".prov"
        identifier = make_store(folder, options.runs)
        stores = {"SQLite": str(folder)}
        url = options.postgres
        if options.start_postgres:
            sys.path.insert(0, str(REPO / "tests"))
            from pgserver import Server

            server = Server().start()
            url = server.create_database("serve_bench")
        if url:
            stores["PostgreSQL"] = url
        for name, spec in stores.items():
            start = time.perf_counter()
            Store(StoreLocation(folder, None if spec == str(folder) else spec)).index()
            indexed = time.perf_counter() - start
            process, base = serve(spec, work)
            try:
                load(base, identifier, 1, 1, options.seconds)  # one warm-up request: connections, imports
                results[name] = {"index_s": indexed, **load(base, identifier, options.clients, options.requests, options.seconds)}
            finally:
                process.terminate()
                process.wait(timeout=30)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    print(table(results))
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"serve-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=1, default=str))
    print(f"\n{path}")


def table(results: dict) -> str:
    load_text = " ".join(f"{x:.1f}" for x in results["load_before"]) + " -> " + " ".join(f"{x:.1f}" for x in results["load_after"])
    lines = [f"autoprov serve under load: Python {results['python']}, {results['cpus']} CPUs, load {load_text}, "
             f"{results['runs']} runs, ProvSAP DEPTH=ALL lineage over a 50-run chain", "",
             "| index | clients | requests | errors | p50 | p95 | max | requests/s |", "|---|---|---|---|---|---|---|---|"]
    for name in ("SQLite", "PostgreSQL"):
        item = results.get(name)
        if item:
            lines.append(f"| {name} | {item['clients']} | {item['requests']} | {item['errors']} | {item['p50_ms']:.0f} ms | "
                         f"{item['p95_ms']:.0f} ms | {item['max_ms']:.0f} ms | {item['requests_per_s']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
