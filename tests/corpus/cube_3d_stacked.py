"""H.E.S.S. Crab: a 3D analysis, two runs stacked into one map dataset, a point source fitted.

In the style of gammapy's "3D detailed analysis" tutorial, with a small cube: MapDatasetMaker,
FoVBackgroundMaker with an exclusion mask, SafeMaskMaker, stacking, a point source with a power
law.  Products (in the folder given as the first argument, default the working directory): the
stacked map dataset, the fitted models and the residual map.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord
from regions import CircleSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import MapDataset
from gammapy.makers import FoVBackgroundMaker, MapDatasetMaker, SafeMaskMaker
from gammapy.maps import MapAxis, WcsGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import FoVBackgroundModel, Models, PointSpatialModel, PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

data_store = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1")
observations = data_store.get_observations([23523, 23526])
source = SkyCoord(83.633, 22.014, unit="deg", frame="icrs")

energy_axis = MapAxis.from_energy_bounds(1, 10, nbin=3, unit="TeV")
energy_axis_true = MapAxis.from_energy_bounds(0.5, 20, nbin=5, unit="TeV", name="energy_true")
geom = WcsGeom.create(skydir=source, width=(2, 2), binsz=0.05, frame="icrs", axes=[energy_axis])
exclusion_mask = ~geom.region_mask([CircleSkyRegion(source, 0.3 * u.deg)])

stacked = MapDataset.create(geom=geom, energy_axis_true=energy_axis_true, name="crab-stacked")
maker = MapDatasetMaker(selection=["counts", "background", "exposure", "psf", "edisp"])
safe_mask_maker = SafeMaskMaker(methods=["offset-max", "aeff-default"], offset_max=2 * u.deg)
fov_maker = FoVBackgroundMaker(method="scale", exclusion_mask=exclusion_mask)
for observation in observations:
    cutout = stacked.cutout(observation.get_pointing_icrs(observation.tmid), width=2.5 * u.deg, name=f"obs-{observation.obs_id}")
    dataset = maker.run(cutout, observation)
    dataset = safe_mask_maker.run(dataset, observation)
    stacked.stack(fov_maker.run(dataset))
print(f"Stacked: {int(stacked.counts.data.sum())} counts, background {float(stacked.background.data.sum()):.0f}")

spatial_model = PointSpatialModel(lon_0=83.6 * u.deg, lat_0=22.0 * u.deg, frame="icrs")
spectral_model = PowerLawSpectralModel(index=2.6, amplitude=4e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
models = Models([SkyModel(spatial_model=spatial_model, spectral_model=spectral_model, name="crab"), FoVBackgroundModel(dataset_name=stacked.name)])
stacked.models = models
result = Fit().run(datasets=[stacked])
print(f"Fit: success={result.success}, index={spectral_model.index.value:.2f}, position ({spatial_model.lon_0.value:.3f}, {spatial_model.lat_0.value:.3f})")

stacked.write(outdir / "crab_3d_stacked.fits", overwrite=True)
models.write(outdir / "crab_3d_models.yaml", overwrite=True)
stacked.residuals(method="diff/sqrt(model)").sum_over_axes(keepdims=False).write(outdir / "crab_3d_residuals.fits", overwrite=True)
