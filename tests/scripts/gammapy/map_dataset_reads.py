"""A small 3D analysis in the style of gammapy's documentation that reads properties as it goes.

One H.E.S.S. Crab run reduced into a map dataset, a point source fitted.  Along the way the script
reads properties, as the tutorials do: ``observation.events`` (the events, loaded from the run's
file), ``dataset.models`` (the fitted models, which it then writes) and ``dataset.counts`` (not a
product read in the filter).  It sets ``dataset.models`` too (a property's setter: it changes the
dataset).  Products in the folder given as the first argument: ``counts.fits`` (the run's events
filled into a map) and ``models.yaml`` (the fitted models).
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

from gammapy.data import DataStore
from gammapy.datasets import MapDataset
from gammapy.makers import MapDatasetMaker
from gammapy.maps import Map, MapAxis, WcsGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import FoVBackgroundModel, Models, PointSpatialModel, PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

observation = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1").obs(23523)
source = SkyCoord(83.633, 22.014, unit="deg", frame="icrs")
energy_axis = MapAxis.from_energy_bounds(1, 10, nbin=2, unit="TeV")
energy_axis_true = MapAxis.from_energy_bounds(0.5, 20, nbin=3, unit="TeV", name="energy_true")
geom = WcsGeom.create(skydir=source, width=(1.5, 1.5), binsz=0.1, frame="icrs", axes=[energy_axis])

counts = Map.from_geom(geom)
counts.fill_events(observation.events)
counts.write(outdir / "counts.fits", overwrite=True)
print(f"{int(counts.data.sum())} events in the map")
empty = MapDataset.create(geom=geom, energy_axis_true=energy_axis_true, name="crab")
dataset = MapDatasetMaker(selection=["counts", "background", "exposure", "psf", "edisp"]).run(empty, observation)

spectral_model = PowerLawSpectralModel(index=2.6, amplitude=4e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
dataset.models = Models([SkyModel(spatial_model=PointSpatialModel(lon_0=83.63 * u.deg, lat_0=22.01 * u.deg, frame="icrs"),
                                  spectral_model=spectral_model, name="crab"), FoVBackgroundModel(dataset_name=dataset.name)])
result = Fit().run(datasets=[dataset])
print(f"Fit: success={result.success}, {int(dataset.counts.data.sum())} counts")
dataset.models.write(outdir / "models.yaml", overwrite=True)
