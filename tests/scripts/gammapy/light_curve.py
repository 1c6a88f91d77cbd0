"""Run-wise light curve of the Crab, as in gammapy's "Light curves" tutorial (1D, reflected regions).

Each run is reduced to an ON/OFF spectrum, the spectral shape is fixed, and
``LightCurveEstimator`` fits the amplitude run by run.  A second light curve uses the first two
runs only; both are written as FITS tables.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import Angle, SkyCoord
from regions import CircleSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import Datasets, SpectrumDataset
from gammapy.estimators import LightCurveEstimator
from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
from gammapy.maps import MapAxis, RegionGeom
from gammapy.modeling.models import PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
outdir.mkdir(parents=True, exist_ok=True)

data_store = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1")
observations = data_store.get_observations([23523, 23526, 23559, 23592])

on_region = CircleSkyRegion(center=SkyCoord(83.6331, 22.0145, unit="deg", frame="icrs"), radius=0.11 * u.deg)
energy_axis = MapAxis.from_energy_bounds("0.7 TeV", "20 TeV", nbin=4)
energy_axis_true = MapAxis.from_energy_bounds("0.4 TeV", "40 TeV", nbin=8, name="energy_true")
geom = RegionGeom.create(region=on_region, axes=[energy_axis])

dataset_maker = SpectrumDatasetMaker(containment_correction=True, selection=["counts", "exposure", "edisp"])
bkg_maker = ReflectedRegionsBackgroundMaker()
safe_mask_masker = SafeMaskMaker(methods=["aeff-max"], aeff_percent=0.1)
dataset_empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_axis_true)

datasets = Datasets()
for obs in observations:
    dataset = dataset_maker.run(dataset_empty.copy(name=str(obs.obs_id)), obs)
    dataset_on_off = bkg_maker.run(dataset, obs)
    dataset_on_off = safe_mask_masker.run(dataset_on_off, obs)
    datasets.append(dataset_on_off)

spectral_model = PowerLawSpectralModel(index=2.702, amplitude=4.712e-11 * u.Unit("1 / (cm2 s TeV)"), reference=1 * u.TeV)
spectral_model.parameters["index"].frozen = True
sky_model = SkyModel(spatial_model=None, spectral_model=spectral_model, name="crab")
datasets.models = sky_model

lc_maker = LightCurveEstimator(energy_edges=[0.7, 20] * u.TeV, source="crab", selection_optional=None)
light_curve = lc_maker.run(datasets)
light_curve.write(outdir / "light_curve.fits", format="lightcurve", overwrite=True)

first_two = lc_maker.run(datasets[:2])
first_two.write(outdir / "light_curve_first_two.fits", format="lightcurve", overwrite=True)
print("light curve bins", len(light_curve.geom.axes["time"].center), len(first_two.geom.axes["time"].center))
