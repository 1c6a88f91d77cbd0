"""A tiny pipeline package for the filter tests and the worked example of docs/filters.md."""


class Stage:
    """Base class of every pipeline stage."""

    def run(self, events):
        raise NotImplementedError


class Calibrate(Stage):
    def __init__(self, gain):
        self.gain = gain

    def run(self, events):
        return [value * self.gain for value in self._clean(events)]

    def _clean(self, events):
        return [value for value in events if value >= 0]


def read_events(filename):
    with open(filename) as stream:
        return [float(line) for line in stream if line.strip()]


def write_table(values, filename, overwrite=False):
    with open(filename, "w") as stream:
        stream.writelines(f"{value}\n" for value in values)
