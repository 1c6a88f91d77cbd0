"""Fermi-LAT 3FHL Galactic centre: TS map and source detection.

In the style of gammapy's "Source detection and significance maps" tutorial: the counts,
background, exposure and PSF images of the Galactic centre make a map dataset, a TSMapEstimator
with a point-source kernel gives TS and flux maps, and find_peaks lists the source candidates.
Products (in the folder given as the first argument, default the working directory): the TS/flux
maps and the table of peaks.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

from gammapy.datasets import MapDataset
from gammapy.estimators import TSMapEstimator
from gammapy.estimators.utils import find_peaks
from gammapy.irf import EDispKernelMap, PSFMap
from gammapy.maps import Map, MapAxis
from gammapy.modeling.models import PointSpatialModel, PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

counts = Map.read("$GAMMAPY_DATA/fermi-3fhl-gc/fermi-3fhl-gc-counts-cube.fits.gz")
background = Map.read("$GAMMAPY_DATA/fermi-3fhl-gc/fermi-3fhl-gc-background-cube.fits.gz")
exposure = Map.read("$GAMMAPY_DATA/fermi-3fhl-gc/fermi-3fhl-gc-exposure-cube.fits.gz")
psf = PSFMap.read("$GAMMAPY_DATA/fermi-3fhl-gc/fermi-3fhl-gc-psf-cube.fits.gz", format="gtpsf")
print(f"Counts cube {counts.data.shape}, {counts.data.sum():.0f} counts")

energy_axis = counts.geom.axes["energy"]
exposure = exposure.interp_to_geom(counts.geom.as_energy_true)
edisp = EDispKernelMap.from_diagonal_response(energy_axis=energy_axis, energy_axis_true=exposure.geom.axes["energy_true"])
dataset = MapDataset(counts=counts, background=background, exposure=exposure, psf=psf, edisp=edisp, name="fermi-3fhl-gc")
cutout = dataset.cutout(position=SkyCoord(0, 0, unit="deg", frame="galactic"), width=(4, 3) * u.deg).to_image()

model = SkyModel(spatial_model=PointSpatialModel(), spectral_model=PowerLawSpectralModel(index=2), name="point-source")
estimator = TSMapEstimator(kernel_model=model, kernel_width="0.3 deg", energy_edges=[10, 500] * u.GeV, selection_optional=[])
maps = estimator.run(cutout)
print(f"TS map {maps['ts'].data.shape}, max sqrt(TS) {float(maps['sqrt_ts'].data.max()):.1f}")

peaks = find_peaks(maps["sqrt_ts"], threshold=5, min_distance="0.25 deg")
print(f"Peaks above 5 sigma: {len(peaks)}")
for row in peaks[:5]:
    print(f"  ra={row['ra']:.2f} dec={row['dec']:.2f}  sqrt(TS)={row['value']:.1f}")

maps.write(outdir / "gc_ts_maps.fits", overwrite=True)
peaks.write(outdir / "gc_peaks.ecsv", overwrite=True)
