"""A loop of builtin (C) calls: free for settrace and monitoring, a c_call event each for setprofile."""

import sys


def main(count: int) -> None:
    values = []
    total = 0
    for i in range(count):
        values.append(abs(-i))
        total += len(values) + min(i, 7) + max(i, 3)
        if len(values) > 64:
            values.clear()
    print(total)


main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
