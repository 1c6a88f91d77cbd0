"""Cost of one matched call with three parameters, measured in process for one engine.

Times are process CPU time (``time.process_time``), so other processes loading the shared
machine do not count; with the log thread running, its encoding counts, as it should.

Prints one JSON object.  ``hot_path_us``: engine + recorder only, events kept in memory (what a
call costs while it runs); ``bytes_per_event``: memory the buffered tuples hold, counted once
per object; ``with_log_us``: a full ``Capture``, whose log thread encodes and writes the events
meanwhile.  Each is the difference to the same loop run without capture, divided by the calls.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

from autoprov.engine import make_engine
from autoprov.filtering import build_matcher
from autoprov.filtering.plans import Planner
from autoprov.recorder import Recorder

try:  # the core AUTOPROV_CORE selects (autoprov before the native core had none)
    from autoprov.engine.core import select

    NATIVE = (select()[0],)
except ImportError:
    NATIVE = ()
from autoprov.session.capture import Capture


def work(energy, index, name):
    return energy * index


def loop(count: int) -> float:
    start = time.process_time()
    for i in range(count):
        work(float(i), 2.5, "crab")
    return time.process_time() - start


def deep_size(objects: list, seen: set[int]) -> int:
    """Bytes held by ``objects`` and everything they contain, each object counted once."""
    total = 0
    stack = list(objects)
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
    return total


def hot_path(engine_name: str, count: int) -> tuple[float, float, int]:
    matcher = build_matcher(filters=["none"], match=["__main__:work"])
    recorder = Recorder(native=NATIVE[0]) if NATIVE else Recorder()  # the core reads the arguments too
    engine = make_engine(engine_name, Planner(matcher, recorder.buffer.append), recorder, *NATIVE)
    engine.start()
    try:
        elapsed = loop(count)
    finally:
        engine.stop()
    seen = {id(recorder.buffer)}
    size = deep_size(recorder.buffer, seen)
    return elapsed, size / max(len(recorder.buffer), 1), len(recorder.buffer)


def with_log(engine_name: str, count: int) -> float:
    matcher = build_matcher(filters=["none"], match=["__main__:work"])
    with tempfile.TemporaryDirectory() as store:
        capture = Capture(matcher, engine=engine_name, store=Path(store))
        capture.start()
        try:
            elapsed = loop(count)
        finally:
            capture.stop()
    return elapsed


def main(engine_name: str, count: int) -> None:
    plain = min(loop(count) for _ in range(3))
    traced, bytes_per_event, events = hot_path(engine_name, count)
    logged = with_log(engine_name, count)
    print(json.dumps({
        "calls": count,
        "plain_s": plain,
        "hot_path_us": (traced - plain) / count * 1e6,
        "with_log_us": (logged - plain) / count * 1e6,
        "bytes_per_event": bytes_per_event,
        "events_per_call": events / count,
    }))


main(sys.argv[1], int(sys.argv[2]))
