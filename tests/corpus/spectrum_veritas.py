"""VERITAS point-like DL3: a 1D Crab spectrum with reflected OFF regions avoiding bright stars.

In the style of gammapy's "VERITAS with Gammapy" data tutorial: the ON radius is the RAD_MAX of
the IRFs, the exclusion mask is built from the Hipparcos catalogue of bright stars shipped with
the data.  Products (in the folder given as the first argument, default the working directory):
the exclusion mask, the stacked ON/OFF spectrum and the fitted model.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import Angle, SkyCoord
from astropy.table import Table
from regions import CircleSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import Datasets, SpectrumDataset
from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
from gammapy.maps import MapAxis, RegionGeom, WcsGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import PowerLawSpectralModel, SkyModel
from gammapy.utils.scripts import make_path

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

data_store = DataStore.from_dir("$GAMMAPY_DATA/veritas/crab-point-like-ED")
observations = data_store.get_observations([64080, 64081], required_irf="point-like")
rad_max = observations[0].aeff.meta["RAD_MAX"]
print(f"VERITAS runs {observations.ids}, RAD_MAX {rad_max} deg")

target = SkyCoord(83.6333, 22.0145, unit="deg", frame="icrs")
on_region = CircleSkyRegion(center=target, radius=Angle(rad_max * u.deg))

# Exclusion mask: the source and the stars brighter than magnitude 7 within 2.5 deg
stars = Table.read(make_path("$GAMMAPY_DATA/veritas/crab-point-like-ED/Hipparcos_MAG8_1997.dat"), format="ascii.commented_header")
positions = SkyCoord(stars["_RAJ2000"], stars["_DEJ2000"], unit="deg")
bright = stars[(stars["Vmag"] < 7) & (positions.separation(target) < 2.5 * u.deg)]
print(f"Bright stars near the Crab: {len(bright)}")
geom = WcsGeom.create(skydir=target, width=5 * u.deg, binsz=0.02, frame="icrs")
regions = [CircleSkyRegion(SkyCoord(star["_RAJ2000"], star["_DEJ2000"], unit="deg"), 0.25 * u.deg) for star in bright]
exclusion_mask = ~geom.region_mask(regions + [CircleSkyRegion(target, 0.35 * u.deg)])
exclusion_mask.write(outdir / "veritas_exclusion.fits", overwrite=True)

energy_axis = MapAxis.from_energy_bounds(0.1, 40, nbin=4, per_decade=True, unit="TeV", name="energy")
energy_axis_true = MapAxis.from_energy_bounds(0.05, 100, nbin=6, per_decade=True, unit="TeV", name="energy_true")
dataset_empty = SpectrumDataset.create(geom=RegionGeom.create(region=on_region, axes=[energy_axis]), energy_axis_true=energy_axis_true)

dataset_maker = SpectrumDatasetMaker(selection=["counts", "exposure", "edisp"])
bkg_maker = ReflectedRegionsBackgroundMaker(exclusion_mask=exclusion_mask)
safe_mask_maker = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)

datasets = Datasets()
for observation in observations:
    dataset = dataset_maker.run(dataset_empty.copy(name=str(observation.obs_id)), observation)
    datasets.append(safe_mask_maker.run(bkg_maker.run(dataset, observation), observation))

stacked = datasets.stack_reduce(name="veritas-crab")
spectral_model = PowerLawSpectralModel(index=2.5, amplitude=3e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
stacked.models = [SkyModel(spectral_model=spectral_model, name="crab")]
result = Fit().run(datasets=[stacked])
print(f"Fit: success={result.success}, index={spectral_model.index.value:.2f}")

stacked.write(outdir / "veritas_stacked.fits", overwrite=True)
stacked.models.write(outdir / "veritas_model.yaml", overwrite=True)
