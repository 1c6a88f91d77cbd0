"""A tiny analysis for the report tests: parameters that must survive HTML (a URL, markup), one file in, one out."""

import json
import sys


def make(n, scale=2.0, label="x", url="https://example.org/docs?a=1&b=<2>"):
    return {"n": n, "scale": scale}


def write(thing, filename):
    with open(filename, "w") as handle:
        json.dump(thing, handle)


def main(source, out):
    with open(source) as handle:
        n = int(handle.read())
    write(make(n, label="</script><b>bold</b>"), out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
