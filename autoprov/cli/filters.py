"""``autoprov filters check|explain|schema``: validate filters, say why a function is (not) an activity, print the JSON Schema."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import CodeType
from typing import Any

from ..errors import FilterError
from ..filtering import build_matcher
from ..filtering.compiler import FunctionSelection, MethodSelection
from ..filtering.lint import import_warnings, module_warnings
from ..filtering.locate import FilterRef, load
from .options import Parser


def main(argv: list[str]) -> int:
    parser = Parser(prog="autoprov filters", description="Validate filters and explain their decisions.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate filter files or shipped filters, summarise them and warn about "
                                "patterns, base classes, arguments and attributes that match nothing")
    check.add_argument("filters", nargs="+", metavar="FILE|NAME")
    check.add_argument("--no-import", action="store_true", help="do not import the modules the filters name "
                       "(only check that they can be found)")
    explain = commands.add_parser("explain", help="is this function an activity, and which rule decided it?")
    explain.add_argument("function", metavar="MODULE.QUALNAME", help="e.g. gammapy.makers.MapDatasetMaker.run")
    explain.add_argument("--filter", action="append", default=[], metavar="NAME|FILE", help="filters to use (default: as for a run)")
    explain.add_argument("--match", action="append", default=[], metavar="MODULE:QUALNAME", help="also select functions matching this glob, as for a run")
    commands.add_parser("schema", help="print the JSON Schema (draft 2020-12) of filter files, for editors and CI")
    options = parser.parse_args(argv)
    if options.command == "schema":
        from ..filtering.json_schema import schema_text

        print(schema_text(), end="")
        return 0
    if options.command == "check":
        return check_command(options.filters, imports=not options.no_import)
    return explain_command(options.function, options.filter, options.match)


def check_command(specs: list[str], imports: bool = True) -> int:
    """Validate each filter (no cache: this is the place to see every error), summarise it, and warn
    about what can match nothing (importing the modules it names unless ``imports`` is false)."""
    for spec in specs:
        entries = load(FilterRef(spec, "the command line", Path.cwd()), use_cache=False)
        includes = [entry for entry in entries if entry.rule is not None]
        print(f"{spec}: ok, {len(includes)} activity rules, {len(entries) - len(includes)} excludes")
        for entry in entries:
            print(f"  {entry.origin}  {'exclude' if entry.rule is None else 'include'}  {_selection_text(entry.selection)}")
        warnings = import_warnings(entries) if imports else module_warnings(entries)
        for warning in warnings:
            print(f"warning: {warning}")
        if warnings:
            print(f"{spec}: {len(warnings)} warning{'s' if len(warnings) != 1 else ''}")
    return 0


def _selection_text(selection: FunctionSelection | MethodSelection) -> str:
    if isinstance(selection, MethodSelection):
        return f"{selection.method_text} of {selection.base}"
    return ", ".join(text for text, _, _ in selection.patterns)


def explain_command(target: str, filters: list[str], match: list[str] | None = None) -> int:
    code, module_globals = resolve_function(target)
    matcher = build_matcher(filters=filters, match=match)  # the very matcher a run would use
    print(f"filters: {', '.join(matcher.sources) or 'none'}")
    print(matcher.explain(code, module_globals))
    return 0


def resolve_function(target: str) -> tuple[CodeType, dict[str, Any]]:
    """Import the longest importable module prefix of ``target`` and find the function in it."""
    parts = target.replace(":", ".").split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                value = getattr(value, name)
        except AttributeError:
            raise FilterError(f"{target}: {'.'.join(parts[:cut])} has no attribute path {'.'.join(parts[cut:])!r}") from None
        break
    else:
        raise FilterError(f"{target}: no importable module in this name")
    function = getattr(value, "__func__", value)  # classmethod / bound method
    function = getattr(function, "fget", function)  # property
    code = getattr(function, "__code__", None)
    if not isinstance(code, CodeType):
        raise FilterError(f"{target}: not a Python function (a {type(value).__name__})")
    return code, function.__globals__
