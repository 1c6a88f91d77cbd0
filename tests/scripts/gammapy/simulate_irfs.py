"""Simulation with IRFs read from files, as in gammapy's "3D map simulation" tutorial.

Two observations are created from two CTA instrument response files (South and North arrays),
each reduced to a map dataset, filled with a Poisson realisation of a point source plus the IRF
background (``MapDataset.fake``) and written; the South simulation is then fitted back.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

from gammapy.data import FixedPointingInfo, Observation, observatory_locations
from gammapy.datasets import MapDataset
from gammapy.irf import load_irf_dict_from_file
from gammapy.makers import MapDatasetMaker, SafeMaskMaker
from gammapy.maps import MapAxis, WcsGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import FoVBackgroundModel, Models, PointSpatialModel, PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
outdir.mkdir(parents=True, exist_ok=True)

energy_reco = MapAxis.from_energy_bounds("1 TeV", "10 TeV", nbin=3, name="energy")
energy_true = MapAxis.from_energy_bounds("0.5 TeV", "20 TeV", nbin=6, name="energy_true")
migra_axis = MapAxis.from_bounds(0.5, 2, nbin=10, node_type="edges", name="migra")
geom = WcsGeom.create(skydir=(0, 0), binsz=0.1, width=(2, 2), frame="galactic", axes=[energy_reco])
pointing = FixedPointingInfo(fixed_icrs=SkyCoord(0, 0.5, unit="deg", frame="galactic").icrs)

datasets = {}
for site, filename in (
    ("south", "$GAMMAPY_DATA/cta-caldb/Prod5-South-20deg-AverageAz-14MSTs37SSTs.180000s-v0.1.fits.gz"),
    ("north", "$GAMMAPY_DATA/cta-caldb/Prod5-North-20deg-AverageAz-4LSTs09MSTs.180000s-v0.1.fits.gz"),
):
    irfs = load_irf_dict_from_file(filename)
    observation = Observation.create(pointing=pointing, livetime=1 * u.h, irfs=irfs, location=observatory_locations[f"cta_{site}"])
    empty = MapDataset.create(geom, energy_axis_true=energy_true, migra_axis=migra_axis, name=site)
    dataset = MapDatasetMaker(selection=["exposure", "background", "psf", "edisp"]).run(empty, observation)
    dataset = SafeMaskMaker(methods=["offset-max"], offset_max=4 * u.deg).run(dataset, observation)
    source = SkyModel(
        spectral_model=PowerLawSpectralModel(index=2.4, amplitude="5e-12 cm-2 s-1 TeV-1", reference="1 TeV"),
        spatial_model=PointSpatialModel(lon_0="0.2 deg", lat_0="0.1 deg", frame="galactic"),
        name=f"source-{site}",
    )
    dataset.models = Models([source, FoVBackgroundModel(dataset_name=dataset.name)])
    dataset.fake(random_state=42)
    dataset.write(outdir / f"simulated_{site}.fits.gz", overwrite=True)
    datasets[site] = dataset

fit = Fit()
result = fit.run(datasets=[datasets["south"]])
datasets["south"].models.write(outdir / "fitted_south.yaml", overwrite=True)
print("fit", result.success, "counts", {site: int(d.counts.data.sum()) for site, d in datasets.items()})
