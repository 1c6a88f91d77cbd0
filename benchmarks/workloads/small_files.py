"""Write then read back many small files: one audit event, one entity and one digest each."""

import sys
from pathlib import Path


def main(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    payload = bytes(range(256)) * 16  # 4 KiB
    for i in range(count):
        with open(folder / f"part-{i:05d}.bin", "wb") as out:
            out.write(payload)
    size = 0
    for i in range(count):
        with open(folder / f"part-{i:05d}.bin", "rb") as source:
            size += len(source.read())
    print(size)


main(Path(sys.argv[1]), int(sys.argv[2]))
