"""A tiny analysis for the export tests: objects passed between calls, a collection, files written and read back."""

import json
import sys


class Thing:
    def __init__(self, n):
        self.n = n


def make(n, scale=2.0, label="x"):
    return Thing(n)


def write(thing, filename):
    with open(filename, "w") as handle:
        json.dump({"n": thing.n}, handle)


def read(filename):
    with open(filename) as handle:
        return Thing(json.load(handle)["n"])


def combine(things):
    return [thing.n for thing in things]


def main(source, out):
    with open(source) as handle:
        n = int(handle.read())
    thing = make(n)
    write(thing, out)
    again = read(out)
    write(again, out + ".copy")
    return combine([thing, again])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
