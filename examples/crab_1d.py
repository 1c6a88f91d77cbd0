"""1D spectral analysis of the Crab Nebula with four H.E.S.S. DL3-DR1 runs.

The classic ON/OFF analysis of the gammapy documentation: a circular ON region around the Crab,
reflected OFF regions avoiding the exclusion mask, safe energy range from the effective area,
a log-parabola fitted to the four stacked-by-likelihood spectra, and flux points.

Outputs (in ``--outdir``): the reduced spectrum datasets (OGIP files and an index YAML), the
fitted model as YAML and the flux points as a FITS table.

Data are read from ``$GAMMAPY_DATA``; by default ``../shared/data/gammapy-data`` next to this
repository.
"""

import argparse
import os
from pathlib import Path

import astropy.units as u
from astropy.coordinates import Angle, SkyCoord
from regions import CircleSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import Datasets, SpectrumDataset
from gammapy.estimators import FluxPointsEstimator
from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
from gammapy.maps import Map, MapAxis, RegionGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import LogParabolaSpectralModel, SkyModel

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gammapy-data"
GAMMAPY_DATA = Path(os.environ.get("GAMMAPY_DATA", DEFAULT_DATA))
OBS_IDS = [23523, 23526, 23559, 23592]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--outdir", default="crab_1d_out", help="output directory")
parser.add_argument("--energy-bins", type=int, default=5, help="reconstructed energy bins per decade (default 5)")
args = parser.parse_args()
outdir = Path(args.outdir)
outdir.mkdir(parents=True, exist_ok=True)

# Observations
data_store = DataStore.from_dir(GAMMAPY_DATA / "hess-dl3-dr1")
observations = data_store.get_observations(OBS_IDS)
print(f"Observations: {len(observations)} runs, {sum(o.observation_live_time_duration for o in observations).to('h'):.2f} live time")

# ON region and the geometry of the reduced datasets
target_position = SkyCoord(ra=83.63, dec=22.01, unit="deg", frame="icrs")
on_region = CircleSkyRegion(center=target_position, radius=Angle("0.11 deg"))

energy_axis = MapAxis.from_energy_bounds(0.1, 40, nbin=args.energy_bins, per_decade=True, unit="TeV", name="energy")
energy_axis_true = MapAxis.from_energy_bounds(0.05, 100, nbin=10, per_decade=True, unit="TeV", name="energy_true")
geom = RegionGeom.create(region=on_region, axes=[energy_axis])
dataset_empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_axis_true)

# Data reduction: counts and IRFs in the ON region, reflected OFF regions, safe energy range
exclusion_mask = Map.read(GAMMAPY_DATA / "joint-crab" / "exclusion" / "exclusion_mask_crab.fits.gz")
exclusion_mask.data = exclusion_mask.data.astype(bool)  # stored as 0/1 integers; True = usable sky
dataset_maker = SpectrumDatasetMaker(containment_correction=True, selection=["counts", "exposure", "edisp"])
bkg_maker = ReflectedRegionsBackgroundMaker(exclusion_mask=exclusion_mask)
safe_mask_maker = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)

datasets = Datasets()
for observation in observations:
    dataset = dataset_maker.run(dataset_empty.copy(name=str(observation.obs_id)), observation)
    dataset_on_off = bkg_maker.run(dataset, observation)
    dataset_on_off = safe_mask_maker.run(dataset_on_off, observation)
    datasets.append(dataset_on_off)

info = datasets.info_table(cumulative=True)[-1]
print(f"Counts: {info['counts']} ON, {info['counts_off']} OFF, excess {info['excess']:.1f}, significance {info['sqrt_ts']:.1f} sigma")

# Model and fit
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
for parameter in model.spectral_model.parameters.free_parameters:
    print(f"  {parameter.name:>10} = {parameter.value:.4g} +/- {parameter.error:.2g} {parameter.unit}")

# Flux points
energy_edges = MapAxis.from_energy_bounds("1 TeV", "30 TeV", nbin=5).edges
fpe = FluxPointsEstimator(energy_edges=energy_edges, source="crab", selection_optional=["ul"])
flux_points = fpe.run(datasets=datasets)
print(f"Flux points: {len(flux_points.energy_ref)} bins, TS {list(round(float(ts), 1) for ts in flux_points.ts.data.ravel())}")

# Outputs
datasets.write(outdir / "datasets.yaml", overwrite=True)
datasets.models.write(outdir / "models.yaml", overwrite=True)
flux_points.write(outdir / "flux_points.fits", overwrite=True)
print(f"Wrote datasets, models and flux points to {outdir}")
