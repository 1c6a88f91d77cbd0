"""Crab chain, step 3 of 3: draw the spectral energy distribution from the flux points.

Reads the flux points ``fit.py`` wrote and saves the SED as a PNG (matplotlib, Agg backend).
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gammapy.estimators import FluxPoints  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--outdir", default="chain_out", help="output directory (shared by the three steps)")
args = parser.parse_args()
outdir = Path(args.outdir)

# Read the flux points
# --------------------
flux_points = FluxPoints.read(outdir / "crab_flux_points.fits", sed_type="likelihood")

# Plot the SED
# ------------
fig, ax = plt.subplots(figsize=(6, 4))
flux_points.plot(ax=ax, sed_type="e2dnde", color="darkorange")
ax.set_title("Crab Nebula, H.E.S.S. DL3-DR1")
fig.tight_layout()
fig.savefig(outdir / "crab_sed.png", dpi=100)
print(f"Wrote {outdir / 'crab_sed.png'}")
