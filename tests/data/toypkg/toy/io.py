"""File operations inside functions, so file events can be attributed to activities."""

import os
import shutil


def write_text(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def read_text(path):
    with open(path) as handle:
        return handle.read()


def append_text(path, text):
    with open(path, "a") as handle:
        handle.write(text)


def shuffle(directory):
    os.mkdir(os.path.join(directory, "out"))
    shutil.copyfile(os.path.join(directory, "a.txt"), os.path.join(directory, "out", "copy.txt"))
    os.rename(os.path.join(directory, "b.txt"), os.path.join(directory, "out", "moved.txt"))
    os.remove(os.path.join(directory, "c.txt"))
    return sorted(os.listdir(os.path.join(directory, "out")))


def low_level(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, b"raw")
    os.close(fd)
