"""Source catalogues and mask maps: the sources of a field from HGPS, gamma-cat and 3HWC, then masks.

In the style of gammapy's "Source catalogs" and "Mask maps" tutorials: catalogue look-up and
selection by position, a source's model, exclusion masks from the catalogue positions and from
regions, combined with ``~``, ``&`` and ``|``, grown with ``binary_dilate``.  Products (in the
folder given as the first argument, default the working directory): the table of sources in the
field, their models, the combined exclusion mask and an energy-dependent safe mask.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table
from regions import CircleSkyRegion, RectangleSkyRegion

from gammapy.catalog import SourceCatalog3HWC, SourceCatalogGammaCat, SourceCatalogHGPS
from gammapy.maps import MapAxis, WcsGeom
from gammapy.modeling.models import Models

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

center = SkyCoord(18.0, -0.5, unit="deg", frame="galactic")
geom = WcsGeom.create(skydir=center, width=(6, 4), binsz=0.05, frame="galactic")

hgps = SourceCatalogHGPS("$GAMMAPY_DATA/catalogs/hgps_catalog_v1.fits.gz")
gammacat = SourceCatalogGammaCat("$GAMMAPY_DATA/catalogs/gammacat/gammacat.fits.gz")
hawc = SourceCatalog3HWC("$GAMMAPY_DATA/catalogs/3HWC.ecsv")
rows = []
for catalog in (hgps, gammacat, hawc):
    inside = catalog[geom.contains(catalog.positions)]
    print(f"{catalog.tag}: {len(catalog.table)} sources, {len(inside.table)} in the field")
    rows += [(catalog.tag, source.name, source.position.galactic.l.deg, source.position.galactic.b.deg) for source in inside]
sources = Table(rows=rows, names=["catalog", "name", "glon", "glat"])
sources.write(outdir / "field_sources.ecsv", overwrite=True)

hawc_source = next(iter(hawc[geom.contains(hawc.positions)]))
models = Models([hgps["HESS J1826-130"].sky_model(), hawc_source.sky_model()])
print(f"Models: {models.names}, spatial {[model.spatial_model.tag[0] for model in models]}")
models.write(outdir / "field_models.yaml", overwrite=True)

# Exclusion mask: everything but the catalogue sources, and the Galactic plane band
regions = [CircleSkyRegion(source.position, 0.3 * u.deg) for source in hgps[geom.contains(hgps.positions)]]
exclusion = ~geom.region_mask(regions)
band = RectangleSkyRegion(center=SkyCoord(18.0, 0, unit="deg", frame="galactic"), width=6 * u.deg, height=0.6 * u.deg)
exclusion &= ~geom.region_mask([band])
exclusion = ~(~exclusion).binary_dilate(0.1 * u.deg)
print(f"Exclusion mask: {exclusion.data.mean():.2%} of the field usable")
exclusion.write(outdir / "field_exclusion.fits", overwrite=True)

# An energy-dependent mask: usable above 1 TeV, or anywhere at high latitude
cube = geom.to_cube([MapAxis.from_energy_bounds(0.3, 30, nbin=4, unit="TeV")])
safe = cube.energy_mask(energy_min=1 * u.TeV) | (abs(cube.get_coord().skycoord.b) > 1.5 * u.deg)
print(f"Safe mask: {safe.data.sum()} of {safe.data.size} pixels")
safe.write(outdir / "field_safe_mask.fits", overwrite=True)
