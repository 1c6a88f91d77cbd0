"""A numpy-heavy loop: many small array operations, the pattern of inner analysis code."""

import sys

import numpy as np


def main(count: int) -> None:
    rng = np.random.default_rng(1)
    data = rng.normal(size=(64, 64))
    total = 0.0
    for _ in range(count):
        data = np.sqrt(np.abs(data) + 1.0) * 0.99
        total += float(np.sum(data[::8, ::8]))
    print(f"{total:.6f}")


main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
