"""H.E.S.S. PKS 2155-304 flare of July 2006: a light curve in 10-minute bins and its variability.

In the style of gammapy's "Light curves for flares" and "Estimation of time variability" tutorials:
the runs are split into time intervals, reduced to ON/OFF spectra, and a LightCurveEstimator fits
the flux in each; the fractional variability is computed from it and from the published light
curve.  Products (in the folder given as the first argument, default the working directory): the
light curve and a table of variability measures.
"""

import sys
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from astropy.table import Table
from astropy.time import Time
from regions import CircleSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import Datasets, SpectrumDataset
from gammapy.estimators import FluxPoints, LightCurveEstimator
from gammapy.estimators.utils import compute_lightcurve_fvar
from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
from gammapy.maps import MapAxis, RegionGeom
from gammapy.modeling.models import PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

data_store = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1")
observations = data_store.get_observations([33787, 33788])
t_start = min(obs.tstart for obs in observations)
t_stop = max(obs.tstop for obs in observations)
edges = Time(np.arange(t_start.mjd, t_stop.mjd, (10 * u.min).to_value("day")).tolist() + [t_stop.mjd], format="mjd", scale="tt")
time_intervals = list(zip(edges[:-1], edges[1:]))
short = observations.select_time(time_intervals)
print(f"{len(time_intervals)} intervals of 10 min over runs {observations.ids}")

target = SkyCoord(329.71693826, -30.2255890, unit="deg", frame="icrs")
energy_axis = MapAxis.from_energy_bounds(0.4, 20, nbin=4, unit="TeV", name="energy")
energy_axis_true = MapAxis.from_energy_bounds(0.2, 40, nbin=6, unit="TeV", name="energy_true")
geom = RegionGeom.create(region=CircleSkyRegion(target, Angle("0.11 deg")), axes=[energy_axis])
dataset_empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_axis_true)
dataset_maker = SpectrumDatasetMaker(containment_correction=True, selection=["counts", "exposure", "edisp"])
bkg_maker = ReflectedRegionsBackgroundMaker()
safe_mask_maker = SafeMaskMaker(methods=["aeff-max"], aeff_percent=5)

datasets = Datasets()
for index, observation in enumerate(short):
    dataset = dataset_maker.run(dataset_empty.copy(name=f"interval-{index}"), observation)
    datasets.append(safe_mask_maker.run(bkg_maker.run(dataset, observation), observation))

spectral_model = PowerLawSpectralModel(index=3.4, amplitude=2e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
spectral_model.index.frozen = True
datasets.models = [SkyModel(spectral_model=spectral_model, name="pks2155")]
estimator = LightCurveEstimator(energy_edges=[0.7, 20] * u.TeV, source="pks2155", time_intervals=time_intervals, selection_optional=[])
light_curve = estimator.run(datasets)
flux = light_curve.flux.data.ravel()
print(f"Light curve: {len(flux)} bins, flux {flux.min():.3g} to {flux.max():.3g} cm-2 s-1")
light_curve.write(outdir / "pks2155_lightcurve.fits", format="lightcurve", sed_type="flux", overwrite=True)

published = FluxPoints.read("$GAMMAPY_DATA/estimators/pks2155_hess_lc/pks2155_hess_lc.fits", format="lightcurve")
variability = Table(names=["light_curve", "fvar", "fvar_err"], dtype=[str, float, float])
for name, curve in [("this analysis", light_curve), ("published", published)]:
    fvar = compute_lightcurve_fvar(curve)
    variability.add_row([name, float(fvar["fvar"].quantity.ravel()[0]), float(fvar["fvar_err"].quantity.ravel()[0])])
    print(f"Fractional variability ({name}): {variability['fvar'][-1]:.3f} +/- {variability['fvar_err'][-1]:.3f}")
variability.write(outdir / "pks2155_variability.ecsv", overwrite=True)
