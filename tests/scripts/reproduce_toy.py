"""A small analysis for the re-run tests: reads a number, writes JSON, YAML, FITS and text results.

Every output carries a write-time stamp, as real products do (gammapy's CREATED, a YAML
``metadata.date``).  ``--random`` adds outputs drawn from an unseeded random generator, ``--noise X``
adds unseeded noise of relative size X to the JSON result, ``--also PATH`` writes one more file at
PATH (absolute paths test the re-run's redirection and guard).
"""

import argparse
import datetime
import json
import os
import random

import numpy as np
import yaml
from astropy.io import fits

parser = argparse.ArgumentParser()
parser.add_argument("source")
parser.add_argument("--outdir", default="out")
parser.add_argument("--random", action="store_true")
parser.add_argument("--noise", type=float, default=0.0)
parser.add_argument("--also", default=None)
args = parser.parse_args()

with open(args.source) as handle:
    n = int(handle.read())
now = datetime.datetime.now().isoformat()
os.makedirs(args.outdir, exist_ok=True)
value = n * 1.5 * (1 + args.noise * random.random())
with open(os.path.join(args.outdir, "result.json"), "w") as handle:
    json.dump({"n": n, "value": value, "created": now}, handle)
with open(os.path.join(args.outdir, "summary.yaml"), "w") as handle:
    yaml.safe_dump({"metadata": {"date": now, "creator": "toy 1.0"}, "values": [n, n / 3]}, handle)
with open(os.path.join(args.outdir, "constant.txt"), "w") as handle:
    handle.write(f"n = {n}\nthird = {n / 3:.6f}\n")
table = fits.BinTableHDU.from_columns([fits.Column(name="VALUE", format="D", array=np.arange(n) * 1.5)], name="VALUES")
table.header["CREATED"] = now
fits.HDUList([fits.PrimaryHDU(), table]).writeto(os.path.join(args.outdir, "table.fits"), overwrite=True, checksum=True)
if args.random:
    with open(os.path.join(args.outdir, "random.json"), "w") as handle:
        json.dump({"x": random.random()}, handle)
    image = fits.PrimaryHDU(np.random.default_rng().normal(size=(8, 8)))
    image.writeto(os.path.join(args.outdir, "random.fits"), overwrite=True)
if args.also:
    with open(args.also, "w") as handle:
        handle.write(f"{n}\n")
print(f"toy: n={n} value={value}")
