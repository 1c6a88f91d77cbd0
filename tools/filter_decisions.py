"""The cost of a filter's decisions, in instructions: every function of what crab_1d imports, decided.

    valgrind --tool=callgrind --instr-atstart=no python tools/filter_decisions.py FILTER decide

imports what ``examples/crab_1d.py`` imports, builds the matcher for FILTER (a shipped name or a
file), and asks it about every function and method of every loaded module, as the engines do once
per code object; callgrind instruments only that loop (``callgrind_control -i on``), so the
``totals`` of two filters compare their decisions alone (a whole analysis under callgrind takes
hours on a shared machine).
"""
import inspect, sys
import astropy.units, astropy.coordinates, regions
import gammapy.data, gammapy.datasets, gammapy.estimators, gammapy.makers, gammapy.maps, gammapy.modeling, gammapy.modeling.models
from autoprov.filtering.build import build_matcher

matcher = build_matcher([sys.argv[1]])
codes = []
for name, module in list(sys.modules.items()):
    module_globals = getattr(module, "__dict__", None)
    if not isinstance(module_globals, dict):
        continue
    for value in list(module_globals.values()):
        candidates = [value]
        if inspect.isclass(value) and getattr(value, "__module__", None) == name:
            candidates = list(vars(value).values())
        for member in candidates:
            try:
                function = getattr(member, "__func__", member)
            except Exception:
                continue
            if isinstance(member, property):
                function = member.fget
            code = getattr(function, "__code__", None)
            if code is not None and getattr(function, "__module__", None) == name:
                codes.append((code, module_globals))
selected = 0
if sys.argv[2:] == ["decide"]:
    import os, subprocess
    # instrument only the decisions (valgrind --instr-atstart=no): callgrind_control turns it on
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True)
    for code, module_globals in codes:
        selected += matcher.decide(code, module_globals) is not None
    subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], capture_output=True)
print(len(codes), "functions,", selected, "activities")
