"""Many simulations of a 1D spectrum and their fits, as in gammapy's "1D spectrum simulation" tutorial.

A ``SpectrumDataset`` is reduced from a CTA instrument response file for one observation of a
point source; it is then filled with a Poisson realisation of the source (``SpectrumDataset.fake``)
and fitted back (``Fit.run``) in a loop, and the distribution of the fitted index and amplitude is
written to a table: the tutorial's check that the fit is unbiased.
"""

import sys
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from astropy.table import Table
from regions import CircleSkyRegion

from gammapy.data import FixedPointingInfo, Observation, observatory_locations
from gammapy.datasets import SpectrumDataset
from gammapy.irf import load_irf_dict_from_file
from gammapy.makers import SpectrumDatasetMaker
from gammapy.maps import MapAxis, RegionGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
n_simulations = int(sys.argv[2]) if len(sys.argv) > 2 else 100
outdir.mkdir(parents=True, exist_ok=True)

irfs = load_irf_dict_from_file("$GAMMAPY_DATA/cta-caldb/Prod5-South-20deg-AverageAz-14MSTs37SSTs.180000s-v0.1.fits.gz")
pointing = FixedPointingInfo(fixed_icrs=SkyCoord("0 deg", "0 deg"))
observation = Observation.create(pointing=pointing, livetime=5 * u.h, irfs=irfs, location=observatory_locations["cta_south"])

energy_axis = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", nbin=5, per_decade=True)
energy_axis_true = MapAxis.from_energy_bounds("0.05 TeV", "200 TeV", nbin=10, per_decade=True, name="energy_true")
on_region = CircleSkyRegion(center=SkyCoord("0 deg", "0.5 deg"), radius=Angle("0.11 deg"))
geom = RegionGeom.create(region=on_region, axes=[energy_axis])

empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_axis_true, name="obs-0")
dataset = SpectrumDatasetMaker(selection=["exposure", "edisp", "background"]).run(empty, observation)

model_simu = PowerLawSpectralModel(index=3, amplitude="1e-11 cm-2 s-1 TeV-1", reference="1 TeV")

results = []
for idx in range(n_simulations):
    dataset.models = SkyModel(spectral_model=model_simu.copy(), name="source")  # simulate from the true model
    dataset.fake(random_state=idx)
    result = Fit().run(datasets=[dataset])
    results.append({"index": result.parameters["index"].value, "amplitude": result.parameters["amplitude"].value})

table = Table(rows=results)
table.write(outdir / "fit_results.ecsv", overwrite=True)
print(f"index: {np.mean(table['index']):.3f} +- {np.std(table['index']):.3f} over {len(table)} simulations")
