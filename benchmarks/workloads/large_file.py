"""Read one large file in 8 MiB chunks; under autoprov the file is also hashed once (xxhash)."""

import sys


def main(path: str) -> None:
    size = 0
    with open(path, "rb") as source:
        while chunk := source.read(8 << 20):
            size += len(chunk)
    print(size)


main(sys.argv[1])
