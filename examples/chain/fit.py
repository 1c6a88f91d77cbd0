"""Crab chain, step 2 of 3: fit a log-parabola to the reduced datasets and compute flux points.

Reads the datasets ``reduce.py`` wrote, fits the spectral model by joint likelihood and writes the
fitted model and the flux points, which ``plot.py`` draws.
"""

import argparse
from pathlib import Path

import astropy.units as u

from gammapy.datasets import Datasets
from gammapy.estimators import FluxPointsEstimator
from gammapy.maps import MapAxis
from gammapy.modeling import Fit
from gammapy.modeling.models import LogParabolaSpectralModel, SkyModel

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--outdir", default="chain_out", help="output directory (shared by the three steps)")
args = parser.parse_args()
outdir = Path(args.outdir)

# Read the reduced datasets
# -------------------------
datasets = Datasets.read(outdir / "crab_datasets.yaml")
print(f"Datasets: {len(datasets)}")

# Define the model and fit it
# ---------------------------
spectral_model = LogParabolaSpectralModel(
    amplitude=3.5e-11 * u.Unit("cm-2 s-1 TeV-1"),
    reference=1 * u.TeV,
    alpha=2.5,
    beta=0.1,
)
model = SkyModel(spectral_model=spectral_model, name="crab")
datasets.models = [model]

fit = Fit()
result = fit.run(datasets=datasets)
print(f"Fit: success={result.success}, total stat {result.total_stat:.2f}")

# Compute flux points
# -------------------
energy_edges = MapAxis.from_energy_bounds("1 TeV", "30 TeV", nbin=5).edges
fpe = FluxPointsEstimator(energy_edges=energy_edges, source="crab", selection_optional=["ul"])
flux_points = fpe.run(datasets=datasets)

# Write the model and the flux points
# -----------------------------------
datasets.models.write(outdir / "crab_models.yaml", overwrite=True)
flux_points.write(outdir / "crab_flux_points.fits", overwrite=True)
print(f"Wrote {outdir / 'crab_flux_points.fits'}")
