"""A small gammapy product for the FITS embedding test: a counts-like sky map written with Map.write."""

import sys

from gammapy.maps import Map

counts = Map.create(npix=(20, 10), binsz=0.05, skydir=(83.63, 22.01), frame="icrs", unit="")
counts.data += 3.0
counts.write(sys.argv[1], overwrite=True)
