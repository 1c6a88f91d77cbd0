"""One step of a toy pipeline for the index tests: read a number, scale it, write it.

``python index_step.py INPUT OUTPUT [--scale X] [--fail]``; under ``--match __main__:*`` the
functions below are the activities (``scale`` is a parameter), so chains of runs can be built
in a fraction of a second each.
"""

import argparse
import sys


def load(filename):
    with open(filename) as handle:
        return float(handle.read())


def transform(value, scale=2.0):
    return value * scale


def save(value, filename):
    with open(filename, "w") as handle:
        handle.write(f"{value}\n")


parser = argparse.ArgumentParser()
parser.add_argument("source")
parser.add_argument("target")
parser.add_argument("--scale", type=float, default=2.0)
parser.add_argument("--fail", action="store_true")
args = parser.parse_args()
result = transform(load(args.source), scale=args.scale)
save(result, args.target)
print(result)
if args.fail:
    sys.exit(3)
