"""Low-level 3D reduction, as in gammapy's "Analysis 2" tutorial: makers in a loop, stacked in place.

``stacked = MapDataset.create(...)`` is filled by ``stacked.stack(dataset)`` for each of the four
Crab runs, written, fitted, and turned into flux points.  A second stacked dataset is made by
``DatasetsMaker(stack_datasets=True)`` from the first two runs only.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

from gammapy.data import DataStore
from gammapy.datasets import MapDataset
from gammapy.estimators import FluxPointsEstimator
from gammapy.makers import DatasetsMaker, FoVBackgroundMaker, MapDatasetMaker, SafeMaskMaker
from gammapy.maps import MapAxis, WcsGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import FoVBackgroundModel, PointSpatialModel, PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
outdir.mkdir(parents=True, exist_ok=True)

data_store = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1")
observations = data_store.get_observations([23523, 23526, 23559, 23592])

target = SkyCoord(83.633, 22.014, unit="deg", frame="icrs")
energy_axis = MapAxis.from_energy_bounds(1.0, 10.0, 3, unit="TeV")
energy_axis_true = MapAxis.from_energy_bounds(0.5, 20, 6, unit="TeV", name="energy_true")
geom = WcsGeom.create(skydir=target, binsz=0.1, width=(2, 2), frame="icrs", proj="CAR", axes=[energy_axis])

stacked = MapDataset.create(geom=geom, energy_axis_true=energy_axis_true, name="crab-stacked")
maker = MapDatasetMaker(selection=["counts", "exposure", "background", "psf", "edisp"])
maker_safe_mask = SafeMaskMaker(methods=["offset-max"], offset_max=2.5 * u.deg)
maker_fov = FoVBackgroundMaker(method="scale")

for observation in observations:
    cutout = stacked.cutout(observation.get_pointing_icrs(observation.tmid), width="3 deg")
    dataset = maker.run(cutout, observation)
    dataset = maker_safe_mask.run(dataset, observation)
    dataset = maker_fov.run(dataset)
    stacked.stack(dataset)

stacked.write(outdir / "stacked.fits.gz", overwrite=True)

spatial_model = PointSpatialModel(lon_0="83.633 deg", lat_0="22.014 deg", frame="icrs")
spectral_model = PowerLawSpectralModel(index=2.6, amplitude="5e-11 cm-2 s-1 TeV-1", reference="1 TeV")
sky_model = SkyModel(spatial_model=spatial_model, spectral_model=spectral_model, name="crab")
stacked.models = [sky_model, FoVBackgroundModel(dataset_name=stacked.name)]
result = Fit(optimize_opts={"print_level": 0}).run(datasets=[stacked])
stacked.models.write(outdir / "stacked_models.yaml", overwrite=True)

fpe = FluxPointsEstimator(energy_edges=[1, 3, 10] * u.TeV, source="crab")
flux_points = fpe.run(datasets=[stacked])
flux_points.write(outdir / "flux_points.fits", overwrite=True)

# The same reduction by DatasetsMaker, stacking in place, for the first two runs only
reference = MapDataset.create(geom=geom, energy_axis_true=energy_axis_true, name="two-runs")
datasets_maker = DatasetsMaker([maker, maker_safe_mask, maker_fov], stack_datasets=True, cutout_width="3 deg")
two_runs = datasets_maker.run(reference, observations[:2])
two_runs[0].write(outdir / "two_runs.fits.gz", overwrite=True)
print("fit", result.success, "stacked counts", int(stacked.counts.data.sum()), "two runs", int(two_runs[0].counts.data.sum()))
