"""Fermi-LAT 3FHL Galactic centre: a flux profile along the Galactic plane.

In the style of gammapy's "Flux profile estimation" tutorial: rectangular regions across the
plane, a FluxProfileEstimator fitting the flux of a spatially flat model in each, with errors and
upper limits.  Products (in the folder given as the first argument, default the working
directory): the profile as a table and as a FITS flux-points file.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

from gammapy.datasets import MapDataset
from gammapy.estimators import FluxProfileEstimator
from gammapy.irf import EDispKernelMap, PSFMap
from gammapy.maps import Map
from gammapy.modeling.models import PowerLawSpectralModel
from gammapy.utils.regions import make_orthogonal_rectangle_sky_regions

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

counts = Map.read("$GAMMAPY_DATA/fermi-3fhl-gc/fermi-3fhl-gc-counts-cube.fits.gz")
background = Map.read("$GAMMAPY_DATA/fermi-3fhl-gc/fermi-3fhl-gc-background-cube.fits.gz")
exposure = Map.read("$GAMMAPY_DATA/fermi-3fhl-gc/fermi-3fhl-gc-exposure-cube.fits.gz").interp_to_geom(counts.geom.as_energy_true)
psf = PSFMap.read("$GAMMAPY_DATA/fermi-3fhl-gc/fermi-3fhl-gc-psf-cube.fits.gz", format="gtpsf")
edisp = EDispKernelMap.from_diagonal_response(energy_axis=counts.geom.axes["energy"], energy_axis_true=exposure.geom.axes["energy_true"])
dataset = MapDataset(counts=counts, background=background, exposure=exposure, psf=psf, edisp=edisp, name="fermi-3fhl-gc")

regions = make_orthogonal_rectangle_sky_regions(
    start_pos=SkyCoord("-4d", "0d", frame="galactic"), end_pos=SkyCoord("4d", "0d", frame="galactic"),
    wcs=counts.geom.wcs, height=1 * u.deg, nbin=8,
)
estimator = FluxProfileEstimator(regions=regions, spectral_model=PowerLawSpectralModel(index=2.3), energy_edges=[10, 2000] * u.GeV, selection_optional=["ul"])
profile = estimator.run(dataset)
print(f"Profile: {len(regions)} regions, norm {profile.norm.data.ravel().min():.3g} to {profile.norm.data.ravel().max():.3g}")

profile.to_table(sed_type="flux", format="profile").write(outdir / "gc_longitude_profile.ecsv", overwrite=True)
profile.write(outdir / "gc_longitude_profile.fits", format="profile", sed_type="flux", overwrite=True)
