"""MAGIC point-like DL3 with an energy-dependent RAD_MAX: a 1D spectrum with wobble OFF regions.

In the style of gammapy's "Spectral analysis with energy-dependent directional cuts" tutorial: the
ON region is a point, its size comes from the RAD_MAX_2D table of each run, the OFF regions are
placed by a WobbleRegionsFinder.  Products (in the folder given as the first argument, default
the working directory): the reduced ON/OFF spectra and the fitted model.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord
from regions import PointSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import Datasets, SpectrumDataset
from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker, WobbleRegionsFinder
from gammapy.maps import MapAxis, RegionGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import LogParabolaSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

data_store = DataStore.from_dir("$GAMMAPY_DATA/magic/rad_max/data")
observations = data_store.get_observations(required_irf="point-like")
print(f"MAGIC runs: {observations.ids}, RAD_MAX axes {observations[0].rad_max.axes.names}")

on_region = PointSkyRegion(SkyCoord(ra=83.63, dec=22.01, unit="deg", frame="icrs"))
energy_axis = MapAxis.from_energy_bounds(50, 1e5, nbin=4, per_decade=True, unit="GeV", name="energy")
energy_axis_true = MapAxis.from_energy_bounds(10, 1e5, nbin=6, per_decade=True, unit="GeV", name="energy_true")
dataset_empty = SpectrumDataset.create(geom=RegionGeom.create(region=on_region, axes=[energy_axis]), energy_axis_true=energy_axis_true)

dataset_maker = SpectrumDatasetMaker(containment_correction=False, selection=["counts", "exposure", "edisp"])
bkg_maker = ReflectedRegionsBackgroundMaker(region_finder=WobbleRegionsFinder(n_off_regions=3))
safe_mask_maker = SafeMaskMaker(methods=["aeff-default"])

datasets = Datasets()
for observation in observations:
    dataset = dataset_maker.run(dataset_empty.copy(name=str(observation.obs_id)), observation)
    dataset_on_off = bkg_maker.run(dataset, observation)
    datasets.append(safe_mask_maker.run(dataset_on_off, observation))

for dataset in datasets:
    dataset.mask_fit = dataset.counts.geom.energy_mask(80 * u.GeV, 20 * u.TeV)
spectral_model = LogParabolaSpectralModel(amplitude=1e-12 * u.Unit("cm-2 s-1 TeV-1"), alpha=2, beta=0.1, reference=1 * u.TeV)
datasets.models = [SkyModel(spectral_model=spectral_model, name="crab")]
result = Fit().run(datasets=datasets)
print(f"Fit: success={result.success}, alpha={spectral_model.alpha.value:.2f}, beta={spectral_model.beta.value:.2f}")

datasets.write(outdir / "magic_datasets.yaml", overwrite=True)
datasets.models.write(outdir / "magic_models.yaml", overwrite=True)
