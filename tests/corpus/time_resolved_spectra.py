"""H.E.S.S. PKS 2155-304 flare: time-resolved spectroscopy, one spectral fit per time interval.

In the style of gammapy's "Time resolved spectroscopy" tutorial: the observations are cut into
time intervals, each interval gets its ON/OFF spectrum and its own power-law fit.  Products (in
the folder given as the first argument, default the working directory): the spectra of every
interval and a table of fitted index and amplitude against time.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import Angle, SkyCoord
from astropy.table import Table
from astropy.time import Time
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
observations = data_store.get_observations([33789, 33790, 33791])
edges = Time([observations[0].tstart.mjd, observations[1].tstart.mjd, observations[2].tstop.mjd], format="mjd", scale="tt")
time_intervals = list(zip(edges[:-1], edges[1:]))
print(f"Intervals: {[f'{start.iso[11:16]}-{stop.iso[11:16]}' for start, stop in time_intervals]}")

target = SkyCoord(329.71693826, -30.2255890, unit="deg", frame="icrs")
energy_axis = MapAxis.from_energy_bounds(0.4, 20, nbin=4, per_decade=True, unit="TeV", name="energy")
energy_axis_true = MapAxis.from_energy_bounds(0.2, 40, nbin=6, per_decade=True, unit="TeV", name="energy_true")
geom = RegionGeom.create(region=CircleSkyRegion(target, Angle("0.11 deg")), axes=[energy_axis])
dataset_maker = SpectrumDatasetMaker(containment_correction=True, selection=["counts", "exposure", "edisp"])
bkg_maker = ReflectedRegionsBackgroundMaker()
safe_mask_maker = SafeMaskMaker(methods=["aeff-max"], aeff_percent=5)

table = Table(names=["tstart", "tstop", "index", "index_err", "amplitude", "amplitude_err"], dtype=[float] * 6)
table["amplitude"].unit = table["amplitude_err"].unit = "cm-2 s-1 TeV-1"
for number, (start, stop) in enumerate(time_intervals):
    interval = Datasets()
    for observation in observations.select_time([(start, stop)]):
        dataset = dataset_maker.run(SpectrumDataset.create(geom=geom, energy_axis_true=energy_axis_true, name=f"t{number}-{observation.obs_id}"), observation)
        interval.append(safe_mask_maker.run(bkg_maker.run(dataset, observation), observation))
    stacked = interval.stack_reduce(name=f"interval-{number}")
    model = PowerLawSpectralModel(index=3.3, amplitude=3e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
    stacked.models = [SkyModel(spectral_model=model, name="pks2155")]
    result = Fit().run(datasets=[stacked])
    print(f"Interval {number}: {int(stacked.counts.data.sum())} ON, success={result.success}, index {model.index.value:.2f} +/- {model.index.error:.2f}")
    table.add_row([start.mjd, stop.mjd, model.index.value, model.index.error, model.amplitude.value, model.amplitude.error])
    stacked.write(outdir / f"pks2155_interval_{number}.fits", overwrite=True)
table.write(outdir / "pks2155_index_vs_time.ecsv", overwrite=True)
