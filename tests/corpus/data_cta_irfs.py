"""CTA: read the Prod5 IRFs, create an observation from them, and browse the 1DC event lists.

In the style of gammapy's "CTA with Gammapy" data tutorial.  Products (in the folder given as the
first argument, default the working directory): the simulated observation's IRFs as one FITS
file, and a counts map of one 1DC run.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

from gammapy.data import DataStore, FixedPointingInfo, Observation, observatory_locations
from gammapy.irf import load_irf_dict_from_file
from gammapy.maps import Map, MapAxis

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

# Prod5 IRFs: effective area, energy dispersion, PSF and background in one file
irfs = load_irf_dict_from_file("$GAMMAPY_DATA/cta-caldb/Prod5-South-20deg-AverageAz-14MSTs37SSTs.180000s-v0.1.fits.gz")
print(f"IRFs: {sorted(irfs)}")
aeff = irfs["aeff"]
print(f"Effective area at 1 TeV on axis: {aeff.evaluate(energy_true=1 * u.TeV, offset=0 * u.deg).to('km2'):.3f}")

pointing = FixedPointingInfo(fixed_icrs=SkyCoord(0, 0, unit="deg", frame="galactic").icrs)
observation = Observation.create(
    pointing=pointing, livetime=30 * u.min, irfs=irfs, location=observatory_locations["ctao_south"], obs_id=1
)
print(f"Observation: live time {observation.observation_live_time_duration.to('min'):.0f}")
observation.write(outdir / "cta_south_30min_irfs.fits", overwrite=True)

# The first data challenge (1DC): a data store of Galactic-plane runs
data_store = DataStore.from_dir("$GAMMAPY_DATA/cta-1dc/index/gps")
print(f"1DC data store: observations {[int(obs_id) for obs_id in data_store.obs_table['OBS_ID']]}")
run = data_store.obs(110380)
events = run.events.select_energy([0.5, 100] * u.TeV)
print(f"Run 110380: {len(events.table)} events above 0.5 TeV")

counts = Map.create(
    skydir=run.get_pointing_icrs(run.tmid), width=4 * u.deg, binsz=0.1, frame="galactic",
    axes=[MapAxis.from_energy_bounds(0.5, 100, nbin=2, unit="TeV")],
)
counts.fill_events(events)
print(f"Counts map: {counts.data.sum():.0f} events in {counts.data.shape}")
counts.write(outdir / "counts_110380.fits", overwrite=True)
