"""The result table: a pure function of the JSON result, printed as Markdown (docs paste it)."""

from __future__ import annotations

from typing import Any


def _ratio(stats: dict[str, float]) -> str:
    return f"{stats['median']:.3f}x ({stats['min']:.2f}-{stats['max']:.2f})"


def _verdict(value: float | None, limit: float | None) -> str:
    if value is None or limit is None:
        return ""
    return f"<= {limit:g}: {'met' if value <= limit else 'MISSED'}"


def _split(name: str) -> tuple[str, str]:
    """'monitoring/native' -> ('monitoring', 'native'); a reference or floor has no core."""
    engine, _, core = name.partition("/")
    return engine, core or "-"


def _background(summary: dict[str, Any]) -> str:
    """CPU seconds of what a run left running after it exited (autoprov's detached export), waited
    for before the next run and not counted in its ratio."""
    seconds = summary.get("background_cpu_s", {}).get("median", 0.0)
    return f"{seconds:.2f} s" if seconds else "-"


def _subprocess_rows(case: dict[str, Any]) -> list[str]:
    rows = []
    plain = case["plain_wall_s"]
    for name, summary in case["variants"].items():
        engine, core = _split(name)
        rows.append(
            f"| {case['name']} | {engine} | {core} | {_ratio(summary['wall'])} | {_ratio(summary['cpu'])} | "
            f"{summary['rss']['median']:.2f}x | {plain['median']:.2f} s | {summary['pairs']} | {_background(summary)} | "
            f"{_verdict(summary['cpu']['median'], summary.get('target'))} |"
        )
    return rows


def format_table(result: dict[str, Any]) -> str:
    meta = result["meta"]
    lines = [
        f"autoprov benchmarks: Python {meta['python']} ({meta['mode']}), {meta['cpus']} CPUs, "
        f"load {meta['load_before']} -> {meta['load_after']}, autoprov {meta['commit']}, filter: {meta['filter']}",
        "",
        f"`uptime` before: {meta.get('uptime', '?')}; after: {meta.get('uptime_after', '?')}",
    ]
    if result["subprocess"]:
        lines += ["", "| case | variant | core | wall ratio median (min-max) | CPU ratio median (min-max) | peak RSS | plain wall | pairs | background CPU | target (CPU) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
    for case in result["subprocess"]:
        lines += _subprocess_rows(case) if "variants" in case else [f"| {case['name']} | - | - | {case['skipped']} | | | | | | |"]
    if result.get("unmatched_inprocess"):
        lines += ["", "| unmatched calls, in process (no start-up) | engine | core | time ratio median (min-max) | target |", "|---|---|---|---|---|"]
        for name, u in result["unmatched_inprocess"].items():
            lines.append(f"| {u['calls']} calls of add(a, b) | {' | '.join(_split(name))} | {u['ratio']:.3f}x ({u['min']:.2f}-{u['max']:.2f}) | "
                         f"{_verdict(u['ratio'], u.get('target'))} |")
    if result.get("startup"):
        lines += ["", "| start-up (empty script) | engine | core | wall ms added median (min-max) | CPU ms added median (min-max) | target (CPU) |",
                  "|---|---|---|---|---|---|"]
        for name, added in result["startup"].items():
            cpu = added.get("cpu")
            cpu_text = f"{cpu['median']:.0f} ({cpu['min']:.0f}-{cpu['max']:.0f})" if cpu else ""
            lines.append(f"| python -m autoprov | {' | '.join(_split(name))} | {added['median']:.0f} ({added['min']:.0f}-{added['max']:.0f}) | {cpu_text} | "
                         f"{_verdict((cpu or added)['median'], added.get('target'))} |")  # CPU: wall waits for a core under load
    if result.get("hashing"):
        lines += ["", "| large file | engine | core | MB | MB/s hashed (from added wall time) |", "|---|---|---|---|---|"]
        for name, rate in result["hashing"]["throughput_mb_s"].items():
            lines.append(f"| read once | {' | '.join(_split(name))} | {result['hashing']['size_mb']} | {rate:.0f} |")
    if result.get("matched"):
        lines += ["", "| matched calls (3 parameters) | engine | core | us per activity, hot path | us with log thread | bytes per event | events per call | target |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, m in result["matched"].items():
            lines.append(f"| {m['calls']} calls | {' | '.join(_split(name))} | {m['hot_path_us']:.2f} | {m['with_log_us']:.2f} | "
                         f"{m['bytes_per_event']:.0f} | {m['events_per_call']:.1f} | {_verdict(m['hot_path_us'], m.get('target'))} |")
    if result.get("export"):
        export = result["export"]
        lines += ["", f"| export of a synthetic run | format | wall s | CPU s | load s | peak RSS MB | output MB | target |", "|---|---|---|---|---|---|---|---|"]
        for fmt, e in export["formats"].items():
            if "error" in e:
                lines.append(f"| {export['activities']} activities | {fmt} | {e['error']} | | | | | |")
                continue
            target = _verdict(e["wall_s"], e.get("target_s"))
            if e.get("target_rss_mb"):
                target += f"; RSS {_verdict(e['peak_rss_mb'], e['target_rss_mb'])}"
            lines.append(f"| {export['activities']} activities, {export['entities']} entities | {fmt} | {e['wall_s']:.2f} | {e['cpu_s']:.2f} | "
                         f"{e['load_s']:.2f} | {e['peak_rss_mb']:.0f} | {e['bytes'] / 2**20:.1f} | {target} |")
    return "\n".join(lines)
