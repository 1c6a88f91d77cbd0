"""H.E.S.S. MSH 15-52: the 1D spectrum of an extended source.

In the style of gammapy's "Spectral analysis of extended sources" tutorial: a wide ON region, no
containment correction, the IRFs averaged over the region (``use_region_center=False``), a safe
energy range from the energy bias.  Products (in the folder given as the first argument, default
the working directory): the stacked ON/OFF spectrum and the fitted model.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord
from regions import CircleSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import Datasets, SpectrumDataset
from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
from gammapy.maps import MapAxis, RegionGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

data_store = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1")
observations = data_store.get_observations([20136, 20137])
target = SkyCoord(320.33, -1.19, unit="deg", frame="galactic")
on_region = CircleSkyRegion(center=target, radius=0.3 * u.deg)

energy_axis = MapAxis.from_energy_bounds(0.5, 50, nbin=3, per_decade=True, unit="TeV", name="energy")
energy_axis_true = MapAxis.from_energy_bounds(0.3, 100, nbin=5, per_decade=True, unit="TeV", name="energy_true")
dataset_empty = SpectrumDataset.create(geom=RegionGeom.create(region=on_region, axes=[energy_axis]), energy_axis_true=energy_axis_true)

dataset_maker = SpectrumDatasetMaker(containment_correction=False, use_region_center=False, selection=["counts", "exposure", "edisp"])
bkg_maker = ReflectedRegionsBackgroundMaker(min_distance_input=0.5 * u.deg)
safe_mask_maker = SafeMaskMaker(methods=["edisp-bias"], bias_percent=10)

datasets = Datasets()
for observation in observations:
    dataset = dataset_maker.run(dataset_empty.copy(name=str(observation.obs_id)), observation)
    datasets.append(safe_mask_maker.run(bkg_maker.run(dataset, observation), observation))
stacked = datasets.stack_reduce(name="msh15-52")
print(f"Stacked: {int(stacked.counts.data.sum())} ON, {int(stacked.counts_off.data.sum())} OFF, alpha {float(stacked.alpha.data.mean()):.3f}")

spectral_model = PowerLawSpectralModel(index=2.3, amplitude=5e-12 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
stacked.models = [SkyModel(spectral_model=spectral_model, name="msh15-52")]
result = Fit().run(datasets=[stacked])
print(f"Fit: success={result.success}, index={spectral_model.index.value:.2f}")

stacked.write(outdir / "msh1552_stacked.fits", overwrite=True)
stacked.models.write(outdir / "msh1552_model.yaml", overwrite=True)
