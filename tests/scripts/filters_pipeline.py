"""Uses photonpipe with a stage subclass defined in the script itself (filter tests)."""

import sys

import photonpipe


class Square(photonpipe.Stage):
    def run(self, events):
        return [value * value for value in events]


events = photonpipe.read_events(sys.argv[1])
calibrated = photonpipe.Calibrate(gain=2.0).run(events)
squared = Square().run(calibrated)
photonpipe.write_table(squared, sys.argv[2], overwrite=True)
