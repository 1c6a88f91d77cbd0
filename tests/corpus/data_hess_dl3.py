"""H.E.S.S. DL3 DR1: browse the data store, select observations, look at one run's events and IRFs.

In the style of gammapy's "H.E.S.S. with Gammapy" data tutorial.  Products (in the folder given as
the first argument, default the working directory): the table of the selected Crab runs, one
run's events above 1 TeV with its GTI, and its effective area as a FITS table.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

from gammapy.data import DataStore

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

data_store = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1")
print(f"Data store: {len(data_store.obs_table)} observations, {len(data_store.hdu_table)} HDUs")

# Observations within 3 deg of the Crab
crab = SkyCoord(83.633, 22.014, unit="deg", frame="icrs")
selection = dict(type="sky_circle", frame="icrs", lon=crab.ra, lat=crab.dec, radius=3 * u.deg)
crab_runs = data_store.obs_table.select_observations(selection)
print(f"Crab runs: {[int(obs_id) for obs_id in crab_runs['OBS_ID']]}")
crab_runs[["OBS_ID", "RA_PNT", "DEC_PNT", "ZEN_PNT", "LIVETIME"]].write(outdir / "crab_runs.ecsv", overwrite=True)

# One observation: events, IRFs, GTI
observation = data_store.obs(23523)
events = observation.events
print(f"Run {observation.obs_id}: {len(events.table)} events, live time {observation.observation_live_time_duration:.1f}")
high = events.select_energy([1, 100] * u.TeV).select_offset([0, 2] * u.deg)
print(f"  above 1 TeV within 2 deg of the pointing: {len(high.table)} events")
aeff = observation.aeff
print(f"  effective area at 1 TeV, 0.5 deg: {aeff.evaluate(energy_true=1 * u.TeV, offset=0.5 * u.deg).to('m2'):.0f}")
edisp = observation.edisp
print(f"  energy dispersion axes: {edisp.axes.names}")

selected = observation.copy(in_memory=True, events=high)
selected.write(outdir / "events_23523_above_1TeV.fits", include_irfs=False, overwrite=True)
aeff.write(outdir / "aeff_23523.fits", overwrite=True)
print(f"Wrote the run table, the selected events and the effective area to {outdir}")
