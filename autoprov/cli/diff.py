"""``autoprov diff RUN_A RUN_B``: what differs between two runs; exit status 0 when equal, 1 when not.

Like ``diff``: status 0 when nothing compared differs, 1 when something does, 2 on error.  The
text output has one section per kind of difference (run, environment, activities, inputs,
outputs); ``--format json`` gives the whole :class:`~autoprov.index.diff.RunDiff`.
"""

from __future__ import annotations

import sys
from typing import Any

from .options import Parser, STORE_HELP


def diff_command(argv: list[str]) -> int:
    from ..index.api import Store

    parser = Parser(prog="autoprov diff", description="Compare two runs of the index.")
    parser.add_argument("run_a", metavar="RUN_A", help="run id, unique prefix, latest or -N (the N-th newest)")
    parser.add_argument("run_b", metavar="RUN_B")
    parser.add_argument("--store", default=None, metavar="DIR|URL", help=STORE_HELP)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    options = parser.parse_args(argv)
    result = Store(options.store).diff(options.run_a, options.run_b)
    if options.format == "json":
        import json
        from dataclasses import asdict

        json.dump({**asdict(result), "equal": result.equal}, sys.stdout, indent=1, default=str)
        print()
    else:
        print("\n".join(render(result)))
    return 0 if result.equal else 1


def _short(digest: Any) -> str:
    if not digest:
        return "(no digest)"
    algorithm, _, hexdigest = str(digest).partition(":")
    return f"{algorithm}:{hexdigest[:16]}"


def _run_line(mark: str, info: Any) -> str:
    exit_text = f", exit {info.exit_code}" if info.exit_code is not None else ""
    return f"{mark} {info.run_id}  {info.command or info.program or ''}  ({info.status}{exit_text})"


def render(result: Any) -> list[str]:
    lines = [_run_line("---", result.a), _run_line("+++", result.b)]
    if result.equal:
        lines.append("no differences")
        return lines
    if result.run:
        lines.append("run")
        lines += [f"  {change.name}: {change.a} -> {change.b}" for change in result.run]
    if result.environment:
        lines.append("environment")
        lines += [f"  {change.name}: {change.a or '(absent)'} -> {change.b or '(absent)'}" for change in result.environment]
    counts = result.activities
    if result.added or result.removed or result.changed:
        lines.append(f"activities  {counts['a']} -> {counts['b']}: {len(result.added)} added, {len(result.removed)} removed, {len(result.changed)} changed")
        lines += [f"  + {name} #{occurrence}" for name, occurrence in result.added]
        lines += [f"  - {name} #{occurrence}" for name, occurrence in result.removed]
        for change in result.changed:
            lines.append(f"  ~ {change.name} #{change.occurrence}")
            lines += [f"      {item.name}: {_value(item.a)} -> {_value(item.b)}" for item in change.changes]
    for title, files in (("inputs", result.inputs), ("outputs", result.outputs)):
        if files.equal:
            continue
        products = f"{len(files.products)} same product at another path, " if files.products else ""
        lines.append(f"{title}  {files.same} same, {len(files.content)} other content, {len(files.moved)} moved, "
                     f"{products}{len(files.only_a)} only in A, {len(files.only_b)} only in B")
        for change in files.content:
            lines.append(f"  ~ {change.name}  {_short(change.a)} -> {_short(change.b)}")
            lines += _upstream(files.upstream.get(change.name, []))
        lines += [f"  = {change.a} -> {change.b}  (same content {_short(change.name)})" for change in files.moved]
        for pair in files.products:
            content = "same content" if pair.same_content else f"other content {_short(pair.digest_a)} -> {_short(pair.digest_b)}"
            lines.append(f"  ≈ {pair.a} -> {pair.b}  (same product: {pair.producer}; {content})")
            lines += _upstream(pair.upstream)
        lines += [f"  - {change.name}  {_short(change.a)}" for change in files.only_a]
        lines += [f"  + {change.name}  {_short(change.b)}" for change in files.only_b]
    return lines


def _upstream(changes: list[Any]) -> list[str]:
    """The parameter changes upstream of one output, under it."""
    from ..export.renderers.dot import short_name

    lines = []
    for change in changes:
        values = ", ".join(f"{item.name}: {_value(item.a, 40)} -> {_value(item.b, 40)}" for item in change.changes)
        lines.append(f"      upstream {short_name(change.name)} #{change.occurrence}: {values}")
    return lines


def _value(value: Any, width: int = 120) -> str:
    if value is None:
        return "(absent)"
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 3] + "..."
