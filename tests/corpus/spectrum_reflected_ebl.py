"""H.E.S.S. PKS 2155-304: a 1D spectrum with reflected OFF regions, an EBL-absorbed model, flux points.

In the style of gammapy's "Spectral analysis" and "Account for spectral absorption due to the EBL"
tutorials.  Products (in the folder given as the first argument, default the working directory):
the reduced ON/OFF spectra, the fitted model and the flux points (with upper limits).
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import Angle, SkyCoord
from regions import CircleSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import Datasets, SpectrumDataset
from gammapy.estimators import FluxPointsEstimator
from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
from gammapy.maps import MapAxis, RegionGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import EBLAbsorptionNormSpectralModel, PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

data_store = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1")
observations = data_store.get_observations([33787, 33788])
target = SkyCoord(329.71693826, -30.2255890, unit="deg", frame="icrs")
on_region = CircleSkyRegion(center=target, radius=Angle("0.11 deg"))

energy_axis = MapAxis.from_energy_bounds(0.2, 20, nbin=4, per_decade=True, unit="TeV", name="energy")
energy_axis_true = MapAxis.from_energy_bounds(0.1, 40, nbin=6, per_decade=True, unit="TeV", name="energy_true")
dataset_empty = SpectrumDataset.create(geom=RegionGeom.create(region=on_region, axes=[energy_axis]), energy_axis_true=energy_axis_true)

dataset_maker = SpectrumDatasetMaker(containment_correction=True, selection=["counts", "exposure", "edisp"])
bkg_maker = ReflectedRegionsBackgroundMaker()
safe_mask_maker = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)

datasets = Datasets()
for observation in observations:
    dataset = dataset_maker.run(dataset_empty.copy(name=f"pks2155-{observation.obs_id}"), observation)
    datasets.append(safe_mask_maker.run(bkg_maker.run(dataset, observation), observation))
print(f"ON/OFF: {[int(d.counts.data.sum()) for d in datasets]} ON, {[int(d.counts_off.data.sum()) for d in datasets]} OFF")

# Intrinsic power law absorbed by the extragalactic background light (redshift 0.116)
absorption = EBLAbsorptionNormSpectralModel.read_builtin("dominguez", redshift=0.116)
intrinsic = PowerLawSpectralModel(index=3, amplitude=2e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
model = SkyModel(spectral_model=intrinsic * absorption, name="pks2155")
datasets.models = [model]
result = Fit().run(datasets=datasets)
print(f"Fit: success={result.success}, intrinsic index={intrinsic.index.value:.2f}")

energy_edges = MapAxis.from_energy_bounds("0.3 TeV", "10 TeV", nbin=3).edges
flux_points = FluxPointsEstimator(energy_edges=energy_edges, source="pks2155", selection_optional=["ul"]).run(datasets=datasets)
print(f"Flux points TS: {[round(float(ts), 1) for ts in flux_points.ts.data.ravel()]}")

datasets.write(outdir / "pks2155_datasets.yaml", overwrite=True)
datasets.models.write(outdir / "pks2155_model.yaml", overwrite=True)
flux_points.write(outdir / "pks2155_flux_points.fits", overwrite=True)
