"""Fermi-LAT 3FHL Galactic centre: events, exposure, PSF and the diffuse model into a map dataset.

In the style of gammapy's "Fermi-LAT with Gammapy" data tutorial.  Products (in the folder given
as the first argument, default the working directory): the map dataset (counts filled from the
event list, exposure interpolated from the HEALPix cube, PSF) and the predicted counts of the
Galactic diffuse emission.
"""

import sys
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

from gammapy.data import EventList
from gammapy.datasets import MapDataset
from gammapy.irf import EDispKernelMap, PSFMap
from gammapy.maps import Map, MapAxis, WcsGeom
from gammapy.modeling.models import Models, PowerLawNormSpectralModel, SkyModel, TemplateSpatialModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

events = EventList.read("$GAMMAPY_DATA/fermi-3fhl-gc/fermi-3fhl-gc-events.fits.gz")
print(f"Events: {len(events.table)}, energies {events.energy.min().to('GeV'):.1f} to {events.energy.max().to('GeV'):.0f}")

gc_position = SkyCoord(0, 0, unit="deg", frame="galactic")
energy_axis = MapAxis.from_energy_edges([10, 30, 100, 2000] * u.GeV)
geom = WcsGeom.create(skydir=gc_position, width=(6, 4), binsz=0.1, frame="galactic", proj="CAR", axes=[energy_axis])
counts = Map.from_geom(geom)
counts.fill_events(events)
print(f"Counts: {counts.data.sum():.0f} in {counts.data.shape}")

exposure_hpx = Map.read("$GAMMAPY_DATA/fermi-3fhl-gc/fermi-3fhl-gc-exposure-cube.fits.gz")
energy_axis_true = exposure_hpx.geom.axes["energy_true"]
geom_true = geom.to_image().to_cube([energy_axis_true])
exposure = exposure_hpx.interp_to_geom(geom_true)
print(f"Exposure at the Galactic centre, 100 GeV: {exposure.get_by_coord({'skycoord': gc_position, 'energy_true': 100 * u.GeV})[0]:.3g} {exposure.unit}")

psf = PSFMap.read("$GAMMAPY_DATA/fermi-3fhl-gc/fermi-3fhl-gc-psf-cube.fits.gz", format="gtpsf")
print(f"PSF 68% containment at 100 GeV: {psf.containment_radius(0.68, energy_true=100 * u.GeV, position=gc_position)[0]:.3f}")
edisp = EDispKernelMap.from_diagonal_response(energy_axis=energy_axis, energy_axis_true=energy_axis_true)

template = TemplateSpatialModel.read("$GAMMAPY_DATA/fermi-3fhl-gc/gll_iem_v06_gc.fits.gz", normalize=False)
diffuse = SkyModel(spectral_model=PowerLawNormSpectralModel(), spatial_model=template, name="diffuse-iem")

dataset = MapDataset(counts=counts, exposure=exposure, psf=psf, edisp=edisp, name="fermi-3fhl-gc")
dataset.models = Models([diffuse])
npred = dataset.npred()
print(f"Predicted diffuse counts: {npred.data.sum():.0f}, ratio to counts {npred.data.sum() / np.sum(counts.data):.2f}")

dataset.write(outdir / "fermi_gc_dataset.fits", overwrite=True)
npred.write(outdir / "fermi_gc_npred_diffuse.fits", overwrite=True)
