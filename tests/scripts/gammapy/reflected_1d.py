"""1D spectral analysis with reflected regions, as in gammapy's "Spectral analysis" tutorial.

Each of the four Crab runs is reduced to an ON/OFF spectrum and written to its own OGIP file;
the four are fitted jointly (WStat), the stacked spectrum is written too, flux points are
computed, and the flux points are fitted again as a ``FluxPointsDataset`` (chi2) built in the
script from the results, with ``Fit.run`` on a plain list.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import Angle, SkyCoord
from regions import CircleSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import Datasets, FluxPointsDataset, SpectrumDataset
from gammapy.estimators import FluxPointsEstimator
from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
from gammapy.maps import Map, MapAxis, RegionGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import ExpCutoffPowerLawSpectralModel, PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
outdir.mkdir(parents=True, exist_ok=True)

datastore = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1/")
observations = datastore.get_observations([23523, 23526, 23559, 23592])

target_position = SkyCoord(ra=83.63, dec=22.01, unit="deg", frame="icrs")
on_region = CircleSkyRegion(center=target_position, radius=Angle("0.11 deg"))
exclusion_mask = Map.read("$GAMMAPY_DATA/joint-crab/exclusion/exclusion_mask_crab.fits.gz")
exclusion_mask.data = exclusion_mask.data.astype(bool)

energy_axis = MapAxis.from_energy_bounds(0.5, 30, nbin=6, unit="TeV")
energy_axis_true = MapAxis.from_energy_bounds(0.2, 50, nbin=10, unit="TeV", name="energy_true")
geom = RegionGeom.create(region=on_region, axes=[energy_axis])
dataset_empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_axis_true)

dataset_maker = SpectrumDatasetMaker(containment_correction=True, selection=["counts", "exposure", "edisp"])
bkg_maker = ReflectedRegionsBackgroundMaker(exclusion_mask=exclusion_mask)
safe_mask_maker = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)

datasets = Datasets()
for obs_id, observation in zip(observations.ids, observations):
    dataset = dataset_maker.run(dataset_empty.copy(name=str(obs_id)), observation)
    dataset_on_off = bkg_maker.run(dataset, observation)
    dataset_on_off = safe_mask_maker.run(dataset_on_off, observation)
    dataset_on_off.write(outdir / f"obs_{obs_id}.fits", overwrite=True)
    datasets.append(dataset_on_off)

spectral_model = PowerLawSpectralModel(index=2.6, amplitude=5e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
model = SkyModel(spectral_model=spectral_model, name="crab")
datasets.models = [model]
result_joint = Fit().run(datasets=datasets)
datasets.models.write(outdir / "joint_models.yaml", overwrite=True)

stacked = datasets.stack_reduce(name="stacked")
stacked.write(outdir / "stacked.fits", overwrite=True)

fpe = FluxPointsEstimator(energy_edges=energy_axis.edges[1:-1], source="crab", selection_optional=["ul"])
flux_points = fpe.run(datasets=datasets)
flux_points.write(outdir / "flux_points.fits", overwrite=True)

ecpl = SkyModel(spectral_model=ExpCutoffPowerLawSpectralModel(index=2.3, amplitude="4e-11 cm-2 s-1 TeV-1",
                                                              reference="1 TeV", lambda_="0.1 TeV-1"), name="crab-ecpl")
flux_points_dataset = FluxPointsDataset(data=flux_points, models=ecpl)
result_points = Fit().run([flux_points_dataset])
flux_points_dataset.models.write(outdir / "flux_points_models.yaml", overwrite=True)
print("joint", result_joint.success, round(result_joint.total_stat, 1), "points", result_points.success)
