"""1e6 unmatched pure-Python calls timed inside one process, capture off against capture on
(process CPU time, so other processes loading the shared machine do not count).

Start-up, filter loading and the post-run export are outside the timed loop, so this is the
per-call cost of unmatched code alone (the whole-process ratio is in the subprocess case).
Uses the run's default filters (the gammapy filter when gammapy is installed).  Prints JSON.
"""

import json
import sys
import time

from autoprov.engine import make_engine
from autoprov.filtering import build_matcher
from autoprov.filtering.plans import Planner
from autoprov.recorder import Recorder

try:  # the core AUTOPROV_CORE selects (autoprov before the native core had none)
    from autoprov.engine.core import select

    NATIVE = (select()[0],)
except ImportError:
    NATIVE = ()


def add(a, b):
    return a + b


def loop(count: int) -> float:
    start = time.process_time()
    total = 0
    for i in range(count):
        total = add(total, i)
    return time.process_time() - start


def traced(engine_name: str, count: int) -> float:
    recorder = Recorder(native=NATIVE[0]) if NATIVE else Recorder()  # the core reads the arguments too
    engine = make_engine(engine_name, Planner(build_matcher(), recorder.buffer.append), recorder, *NATIVE)
    engine.start()
    try:
        return loop(count)
    finally:
        engine.stop()


def main(engine_name: str, count: int, pairs: int) -> None:
    ratios = []
    for _ in range(pairs):
        before, during, after = loop(count), traced(engine_name, count), loop(count)
        ratios.append(during / ((before + after) / 2))
    ratios.sort()
    print(json.dumps({"calls": count, "ratio": ratios[len(ratios) // 2], "min": ratios[0], "max": ratios[-1]}))


main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
