"""Simulate and fit a 3D observation with the CTA instrument response functions.

A 5-hour pointing of CTA South (1DC IRFs, ``South_z20_50h``) half a degree away from a point
source with a power-law spectrum: the expected counts of the source plus the IRF background are
computed with ``MapDatasetMaker``, a Poisson realisation is drawn with ``MapDataset.fake`` (fixed
random seed), and the model is fitted back to it, starting from different values.

Outputs (in ``--outdir``): the simulated dataset, the true and the fitted models as YAML.
``$GAMMAPY_DATA`` defaults to ``../shared/data/gammapy-data`` next to this repository.
"""

import argparse
import os
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

from gammapy.data import FixedPointingInfo, Observation, observatory_locations
from gammapy.datasets import MapDataset
from gammapy.irf import load_irf_dict_from_file
from gammapy.makers import MapDatasetMaker, SafeMaskMaker
from gammapy.maps import MapAxis, WcsGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import (
    FoVBackgroundModel,
    Models,
    PointSpatialModel,
    PowerLawSpectralModel,
    SkyModel,
)

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gammapy-data"
GAMMAPY_DATA = Path(os.environ.get("GAMMAPY_DATA", DEFAULT_DATA))
IRF_FILE = GAMMAPY_DATA / "cta-1dc" / "caldb" / "data" / "cta" / "1dc" / "bcf" / "South_z20_50h" / "irf_file.fits"

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--outdir", default="simulate_3d_out", help="output directory")
parser.add_argument("--livetime", default="5 h", help="observation live time")
parser.add_argument("--seed", type=int, default=42, help="random seed of the Poisson realisation")
args = parser.parse_args()
outdir = Path(args.outdir)
outdir.mkdir(parents=True, exist_ok=True)

# Instrument and observation
irfs = load_irf_dict_from_file(IRF_FILE)
pointing_position = SkyCoord(0.0, 0.5, unit="deg", frame="galactic")
pointing = FixedPointingInfo(fixed_icrs=pointing_position.icrs)
observation = Observation.create(
    pointing=pointing,
    livetime=u.Quantity(args.livetime),
    irfs=irfs,
    location=observatory_locations["cta_south"],
)
print(f"Observation: {observation.observation_live_time_duration.to('h'):.1f} live time")

# Geometry of the simulated dataset
energy_axis = MapAxis.from_energy_bounds("0.3 TeV", "30 TeV", nbin=10, name="energy")
energy_axis_true = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", nbin=12, name="energy_true")
migra_axis = MapAxis.from_bounds(0.5, 2, nbin=30, node_type="edges", name="migra")
geom = WcsGeom.create(skydir=(0, 0), binsz=0.02, width=(5, 5), frame="galactic", axes=[energy_axis])

# True model: a point source at the Galactic centre and the IRF background
spectral_model = PowerLawSpectralModel(index=2.4, amplitude="2e-12 cm-2 s-1 TeV-1", reference="1 TeV")
spatial_model = PointSpatialModel(lon_0="0 deg", lat_0="0 deg", frame="galactic")
source = SkyModel(spectral_model=spectral_model, spatial_model=spatial_model, name="source")

empty = MapDataset.create(geom, energy_axis_true=energy_axis_true, migra_axis=migra_axis, name="simulated")
maker = MapDatasetMaker(selection=["exposure", "background", "psf", "edisp"])
safe_mask_maker = SafeMaskMaker(methods=["offset-max"], offset_max=2.5 * u.deg)
dataset = maker.run(empty, observation)
dataset = safe_mask_maker.run(dataset, observation)

models = Models([source, FoVBackgroundModel(dataset_name=dataset.name)])
models.write(outdir / "models_true.yaml", overwrite=True)
dataset.models = models
dataset.fake(random_state=args.seed)
print(f"Simulated counts: {dataset.counts.data.sum():.0f} (predicted {dataset.npred().data.sum():.1f})")

# Fit the simulated data back, from a different starting point
models_fit = models.copy()
models_fit["source"].spectral_model.index.value = 2.0
models_fit["source"].spectral_model.amplitude.value = 1e-12
models_fit["source"].spatial_model.lon_0.value = 0.05
dataset.models = models_fit
fit = Fit(optimize_opts={"print_level": 0})
result = fit.run(datasets=[dataset])
print(f"Fit: success={result.success}, total stat {result.total_stat:.2f}")
for parameter in models_fit["source"].parameters.free_parameters:
    print(f"  {parameter.name:>10} = {parameter.value:.4g} +/- {parameter.error:.2g} {parameter.unit}")

dataset.write(outdir / "dataset.fits.gz", overwrite=True)
models_fit.write(outdir / "models_fit.yaml", overwrite=True)
print(f"Wrote the simulated dataset and the true and fitted models to {outdir}")
