"""Crab chain, step 1 of 3: reduce four H.E.S.S. DL3-DR1 observations to 1D spectrum datasets.

Data reduction as in the gammapy "1D spectral analysis" tutorial: a circular ON region around the
Crab Nebula, reflected OFF regions avoiding the exclusion mask, and a safe energy range from the
effective area.  The reduced datasets are written as OGIP files with an index YAML, which
``fit.py`` reads; ``plot.py`` draws the result.  Run the three under autoprov and
``autoprov lineage <outdir>/crab_sed.png`` walks back from the plot to the DL3 files::

    python -m autoprov examples/chain/reduce.py --outdir chain_out
    python -m autoprov examples/chain/fit.py --outdir chain_out
    python -m autoprov examples/chain/plot.py --outdir chain_out

Data are read from ``$GAMMAPY_DATA``; by default ``../shared/data/gammapy-data`` next to this
repository.  ``--datastore DIR`` reads the observations from another DL3 data store (a folder with
``obs-index.fits.gz`` and ``hdu-index.fits.gz``, e.g. one a ctapipe Tool wrote) instead of
``$GAMMAPY_DATA/hess-dl3-dr1``; the exclusion mask still comes from ``$GAMMAPY_DATA``.
"""

import argparse
import os
from pathlib import Path

from astropy.coordinates import Angle, SkyCoord
from regions import CircleSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import Datasets, SpectrumDataset
from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
from gammapy.maps import Map, MapAxis, RegionGeom

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gammapy-data"
GAMMAPY_DATA = Path(os.environ.get("GAMMAPY_DATA", DEFAULT_DATA))
OBS_IDS = [23523, 23526, 23559, 23592]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--outdir", default="chain_out", help="output directory (shared by the three steps)")
parser.add_argument("--datastore", type=Path, default=GAMMAPY_DATA / "hess-dl3-dr1",
                    help="DL3 data store holding the observations (default: $GAMMAPY_DATA/hess-dl3-dr1)")
args = parser.parse_args()
outdir = Path(args.outdir)
outdir.mkdir(parents=True, exist_ok=True)

# Select the observations
# -----------------------
data_store = DataStore.from_dir(args.datastore)
observations = data_store.get_observations(OBS_IDS)
print(f"Observations: {len(observations)} runs")

# Define the target region and the dataset geometry
# -------------------------------------------------
target_position = SkyCoord(ra=83.63, dec=22.01, unit="deg", frame="icrs")
on_region = CircleSkyRegion(center=target_position, radius=Angle("0.11 deg"))
energy_axis = MapAxis.from_energy_bounds(0.1, 40, nbin=5, per_decade=True, unit="TeV", name="energy")
energy_axis_true = MapAxis.from_energy_bounds(0.05, 100, nbin=10, per_decade=True, unit="TeV", name="energy_true")
geom = RegionGeom.create(region=on_region, axes=[energy_axis])
dataset_empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_axis_true)

# Run the data reduction chain
# ----------------------------
exclusion_mask = Map.read(GAMMAPY_DATA / "joint-crab" / "exclusion" / "exclusion_mask_crab.fits.gz")
exclusion_mask.data = exclusion_mask.data.astype(bool)
dataset_maker = SpectrumDatasetMaker(containment_correction=True, selection=["counts", "exposure", "edisp"])
bkg_maker = ReflectedRegionsBackgroundMaker(exclusion_mask=exclusion_mask)
safe_mask_maker = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)

datasets = Datasets()
for observation in observations:
    dataset = dataset_maker.run(dataset_empty.copy(name=str(observation.obs_id)), observation)
    dataset_on_off = bkg_maker.run(dataset, observation)
    dataset_on_off = safe_mask_maker.run(dataset_on_off, observation)
    datasets.append(dataset_on_off)

info = datasets.info_table(cumulative=True)[-1]
print(f"Counts: {info['counts']} ON, {info['counts_off']} OFF, excess {info['excess']:.1f}")

# Write the reduced datasets
# --------------------------
datasets.write(outdir / "crab_datasets.yaml", overwrite=True)
print(f"Wrote {outdir / 'crab_datasets.yaml'}")
