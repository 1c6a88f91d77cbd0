"""Python calls the engines' decisions make, counted over a whole run (issue 21, part 3).

    python decision_counts.py OUT.json script.py [args...]     runs python -m autoprov script.py

The native core calls ``FrameDecisions.module_decision`` for a module it cannot decide in C and
``FrameDecisions.decide`` for a code object it cannot; both are wrapped here to count those calls
(and the pure engines' calls of the same methods), written to OUT.json when the process exits.
"""

from __future__ import annotations

import atexit
import json
import runpy
import sys
from collections import Counter

from autoprov.engine.frames import FrameDecisions

counts: Counter[str] = Counter()
modules: Counter[str] = Counter()


def counted(name: str, method):
    def wrapper(self, *args):
        counts[name] += 1
        if name == "module_decision":
            modules[str(args[0].f_globals.get("__name__")).split(".")[0]] += 1
        return method(self, *args)
    return wrapper


FrameDecisions.module_decision = counted("module_decision", FrameDecisions.module_decision)
FrameDecisions.decide = counted("decide", FrameDecisions.decide)
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps({"calls": counts, "modules": modules.most_common(15)})))
sys.argv = ["autoprov", "--quiet", *sys.argv[2:]]
runpy.run_module("autoprov", run_name="__main__", alter_sys=True)
