"""CTA simulations: fake a 1D spectrum and sample the events of a 3D model with the Prod5 IRFs.

In the style of gammapy's "1D spectrum simulation" and "Event sampling" tutorials.  Products (in
the folder given as the first argument, default the working directory): the simulated spectrum
dataset, the sampled event list with its observation's IRFs, and the fitted model.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord
from regions import CircleSkyRegion

from gammapy.data import FixedPointingInfo, Observation, observatory_locations
from gammapy.datasets import MapDataset, MapDatasetEventSampler, SpectrumDataset
from gammapy.irf import load_irf_dict_from_file
from gammapy.makers import MapDatasetMaker, SpectrumDatasetMaker
from gammapy.maps import MapAxis, RegionGeom, WcsGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import FoVBackgroundModel, GaussianSpatialModel, Models, PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

irfs = load_irf_dict_from_file("$GAMMAPY_DATA/cta-caldb/Prod5-North-20deg-AverageAz-4LSTs09MSTs.180000s-v0.1.fits.gz")
target = SkyCoord(83.63, 22.01, unit="deg", frame="icrs")
pointing = FixedPointingInfo(fixed_icrs=target.directional_offset_by(0 * u.deg, 0.5 * u.deg))
observation = Observation.create(pointing=pointing, livetime=0.5 * u.h, irfs=irfs, location=observatory_locations["ctao_north"], obs_id=1001)

# 1D: fake ON counts of a power law
energy_axis = MapAxis.from_energy_bounds(0.1, 50, nbin=3, per_decade=True, unit="TeV")
energy_axis_true = MapAxis.from_energy_bounds(0.05, 100, nbin=5, per_decade=True, unit="TeV", name="energy_true")
spectrum = SpectrumDataset.create(geom=RegionGeom.create(CircleSkyRegion(target, 0.1 * u.deg), axes=[energy_axis]), energy_axis_true=energy_axis_true, name="sim-1d")
spectrum = SpectrumDatasetMaker(selection=["exposure", "edisp", "background"]).run(spectrum, observation)
true_model = SkyModel(spectral_model=PowerLawSpectralModel(index=2.4, amplitude=2e-12 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV), name="source")
spectrum.models = [true_model]
spectrum.fake(random_state=42)
print(f"1D simulation: {int(spectrum.counts.data.sum())} counts, {float(spectrum.background.data.sum()):.1f} background")
fitted = true_model.copy(name="source")
fitted.spectral_model.index.value = 2.0
spectrum.models = [fitted]
result = Fit().run(datasets=[spectrum])
print(f"1D fit: success={result.success}, index={fitted.spectral_model.index.value:.2f}")
spectrum.write(outdir / "sim_spectrum.fits", overwrite=True)
Models([fitted]).write(outdir / "sim_spectrum_fit.yaml", overwrite=True)

# 3D: sample the events of an extended source and the background
geom = WcsGeom.create(skydir=pointing.fixed_icrs, width=(3, 3), binsz=0.05, frame="icrs", axes=[MapAxis.from_energy_bounds(0.3, 30, nbin=4, unit="TeV")])
dataset = MapDatasetMaker(selection=["exposure", "background", "psf", "edisp"]).run(
    MapDataset.create(geom=geom, energy_axis_true=energy_axis_true, migra_axis=MapAxis.from_bounds(0.5, 2, nbin=30, node_type="edges", name="migra"), name="sim-3d"), observation
)
dataset.models = Models([
    SkyModel(spatial_model=GaussianSpatialModel(lon_0=target.ra, lat_0=target.dec, sigma=0.2 * u.deg, frame="icrs"),
             spectral_model=PowerLawSpectralModel(index=2.4, amplitude=2e-12 * u.Unit("cm-2 s-1 TeV-1")), name="extended"),
    FoVBackgroundModel(dataset_name="sim-3d"),
])
events = MapDatasetEventSampler(random_state=0).run(dataset, observation)
print(f"Sampled events: {len(events.table)} (MC_ID of the source: {int((events.table['MC_ID'] == 1).sum())})")
observation.copy(in_memory=True, events=events).write(outdir / "sim_events.fits", overwrite=True)
