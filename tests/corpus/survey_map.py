"""H.E.S.S. DL3 DR1 survey: a counts map of all 105 observations, and an exclusion mask from a catalogue.

The pattern of gammapy's data tutorials applied to a whole data release: a sky map created empty
with ``Map.create``, filled in place by ``Map.fill_events`` with the events of every observation,
written; then an exclusion mask built from the positions of the HGPS catalogue's sources with
``geom.region_mask``, ``~`` and ``&=``, written.  Products (in the folder given as the first
argument, default the working directory): the counts map and the exclusion mask.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord
from regions import CircleSkyRegion

from gammapy.catalog import SourceCatalogHGPS
from gammapy.data import DataStore
from gammapy.maps import Map

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

data_store = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1")
observations = data_store.get_observations()
print(f"Observations: {len(observations)}")

counts = Map.create(skydir=SkyCoord(0, 0, unit="deg", frame="galactic"), width=(360, 180), binsz=1, frame="galactic", proj="CAR")
for observation in observations:
    counts.fill_events(observation.events)
print(f"Counts map {counts.data.shape}: {counts.data.sum():.0f} events, {int((counts.data > 0).sum())} pixels hit")
counts.write(outdir / "hess_dr1_counts.fits", overwrite=True)

# Exclusion mask of the Galactic plane survey region: every HGPS source excluded
hgps = SourceCatalogHGPS("$GAMMAPY_DATA/catalogs/hgps_catalog_v1.fits.gz")
geom = Map.create(skydir=SkyCoord(330, 0, unit="deg", frame="galactic"), width=(40, 6), binsz=0.1, frame="galactic").geom
exclusion = ~geom.region_mask([CircleSkyRegion(position, 0.5 * u.deg) for position in hgps.positions])
exclusion &= ~geom.region_mask([CircleSkyRegion(SkyCoord(326.3, -1.8, unit="deg", frame="galactic"), 1 * u.deg)])
print(f"Exclusion mask {exclusion.data.shape}: {exclusion.data.mean():.1%} usable, {len(hgps.table)} HGPS sources")
exclusion.write(outdir / "hgps_exclusion_mask.fits", overwrite=True)
