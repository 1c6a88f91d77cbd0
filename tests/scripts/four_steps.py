"""A four-step analysis for the legibility test of a small report: read, scale, sum up, write."""

import json
import sys


def read(filename):
    with open(filename) as handle:
        return [float(value) for value in handle.read().split()]


def scale(values, factor=2.0):
    return [value * factor for value in values]


def summarise(values):
    return {"n": len(values), "total": sum(values)}


def write(summary, filename):
    with open(filename, "w") as handle:
        json.dump(summary, handle)


if __name__ == "__main__":
    write(summarise(scale(read(sys.argv[1]))), sys.argv[2])
