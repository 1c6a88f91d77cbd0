"""H.E.S.S. Crab: 2D ring background, excess and significance maps.

In the style of gammapy's "Ring background map" tutorial: map datasets of two runs stacked on a
small image, an exclusion mask around the source, a RingBackgroundMaker, then an
ExcessMapEstimator.  Products (in the folder given as the first argument, default the working
directory): the exclusion mask, the stacked ON/OFF map dataset and the excess/significance maps.
"""

import sys
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from regions import CircleSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import MapDataset, MapDatasetOnOff
from gammapy.estimators import ExcessMapEstimator
from gammapy.makers import MapDatasetMaker, RingBackgroundMaker, SafeMaskMaker
from gammapy.maps import MapAxis, WcsGeom

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

data_store = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1")
observations = data_store.get_observations([23523, 23526])
source = SkyCoord(83.633, 22.014, unit="deg", frame="icrs")

energy_axis = MapAxis.from_energy_bounds(0.5, 10, nbin=1, unit="TeV")
energy_axis_true = MapAxis.from_energy_bounds(0.3, 20, nbin=4, unit="TeV", name="energy_true")
geom = WcsGeom.create(skydir=source, width=(3, 3), binsz=0.04, frame="icrs", axes=[energy_axis])

exclusion_mask = ~geom.to_image().region_mask([CircleSkyRegion(source, 0.3 * u.deg)])
exclusion_mask.write(outdir / "crab_exclusion.fits", overwrite=True)

stacked = MapDatasetOnOff.create(geom=geom, energy_axis_true=energy_axis_true, name="crab-ring")
empty = MapDataset.create(geom=geom, energy_axis_true=energy_axis_true)
maker = MapDatasetMaker(selection=["counts", "background", "exposure"])
safe_mask_maker = SafeMaskMaker(methods=["offset-max"], offset_max=1.5 * u.deg)
ring_maker = RingBackgroundMaker(r_in=0.5 * u.deg, width=0.3 * u.deg, exclusion_mask=exclusion_mask)
for observation in observations:
    dataset = maker.run(empty.copy(name=str(observation.obs_id)), observation)
    dataset = safe_mask_maker.run(dataset, observation)
    stacked.stack(ring_maker.run(dataset.to_image()))
print(f"Stacked: {int(stacked.counts.data.sum())} counts, {int(stacked.counts_off.data.sum())} OFF counts")

estimator = ExcessMapEstimator(correlation_radius=0.1 * u.deg, selection_optional=[])
maps = estimator.run(stacked)
print(f"Peak significance {float(np.nanmax(maps['sqrt_ts'].data)):.1f} sigma, excess {float(np.nansum(maps['npred_excess'].data)):.0f}")

stacked.write(outdir / "crab_ring_dataset.fits", overwrite=True)
maps.write(outdir / "crab_excess_maps.fits", overwrite=True)
maps["sqrt_ts"].write(outdir / "crab_significance.fits", overwrite=True)
