"""1e6 calls of a small pure-Python function that no filter selects.

The worst case for a tracer that sees every call: with sys.monitoring the function's code object
is disabled after its first call, with settrace every call still enters the trace function.
"""

import sys


def add(a, b):
    return a + b


def main(count: int) -> None:
    total = 0
    for i in range(count):
        total = add(total, i)
    print(total)


main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
