"""Functions and classes whose calls the engine tests expect to see as activities."""

import asyncio
import threading


def leaf(x, scale=2):
    return x * scale


def keep(value, label="kept"):
    return label


def outer(x):
    return leaf(x) + leaf(x + 1)


def recurse(n):
    return 0 if n == 0 else n + recurse(n - 1)


def failing(message):
    raise ValueError(message)


def catches():
    try:
        failing("inner")
    except ValueError:
        return "caught"


def numbers(n):
    for i in range(n):
        yield leaf(i)


async def fetch(x):
    await asyncio.sleep(0)
    return leaf(x)


def run_async(x):
    return asyncio.run(fetch(x))


class Base:
    def __init__(self, size):
        self.size = size

    def process(self, data):
        return self.transform(data)

    def transform(self, data):
        return [item for item in data]

    @classmethod
    def create(cls, size):
        return cls(size)

    @staticmethod
    def helper(value):
        return value + 1

    @property
    def doubled(self):
        return self.size * 2


class Child(Base):
    def transform(self, data):
        return list(reversed(data))


class Inherits(Base):
    pass


def in_threads(count, calls):
    def work():
        for i in range(calls):
            outer(i)

    threads = [threading.Thread(target=work, name=f"worker-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def call(function, *args):
    """A matched call that runs another function (a pool submission, a fork) inside it."""
    return function(*args)
