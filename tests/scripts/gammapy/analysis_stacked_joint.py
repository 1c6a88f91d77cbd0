"""High-level interface, as in gammapy's "Analysis 1" tutorial: one stacked and one joint 1D analysis.

The configuration is built in code and written to YAML, read back, then run twice: once with the
four Crab runs stacked into one spectrum, once as a joint likelihood over the four runs.  Each
analysis writes its datasets, its fitted models and its flux points.
"""

import sys
from pathlib import Path

from gammapy.analysis import Analysis, AnalysisConfig
from gammapy.modeling.models import Models

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
outdir.mkdir(parents=True, exist_ok=True)

config = AnalysisConfig()
config.general.log = {"level": "warning"}
config.observations.datastore = "$GAMMAPY_DATA/hess-dl3-dr1"
config.observations.obs_ids = [23523, 23526, 23559, 23592]
config.datasets.type = "1d"
config.datasets.stack = True
config.datasets.geom.axes.energy.min = "1 TeV"
config.datasets.geom.axes.energy.max = "10 TeV"
config.datasets.geom.axes.energy.nbins = 4
config.datasets.geom.axes.energy_true.min = "0.5 TeV"
config.datasets.geom.axes.energy_true.max = "20 TeV"
config.datasets.geom.axes.energy_true.nbins = 8
config.datasets.on_region = {"frame": "icrs", "lon": "83.633 deg", "lat": "22.014 deg", "radius": "0.11 deg"}
config.datasets.containment_correction = True
config.datasets.background.method = "reflected"
config.datasets.safe_mask.methods = ["aeff-max"]
config.datasets.safe_mask.parameters = {"aeff_percent": 10}
config.fit.fit_range = {"min": "1 TeV", "max": "10 TeV"}
config.flux_points.energy = {"min": "1 TeV", "max": "10 TeV", "nbins": 2}
config.flux_points.source = "crab"
config.write(outdir / "config.yaml", overwrite=True)

models = Models.from_yaml(
    """
components:
- name: crab
  type: SkyModel
  spectral:
    type: PowerLawSpectralModel
    parameters:
      - {name: index, value: 2.6}
      - {name: amplitude, value: 5.0e-11, unit: cm-2 s-1 TeV-1}
      - {name: reference, value: 1.0, unit: TeV, frozen: true}
"""
)

for name, stack in (("stacked", True), ("joint", False)):
    config = AnalysisConfig.read(outdir / "config.yaml")
    config.datasets.stack = stack
    analysis = Analysis(config)
    analysis.get_observations()
    analysis.get_datasets()
    analysis.set_models(models.copy())
    analysis.run_fit()
    analysis.get_flux_points()
    (outdir / name).mkdir(exist_ok=True)
    analysis.datasets.write(outdir / name / "datasets.yaml", overwrite=True)
    analysis.models.write(outdir / name / "models.yaml", overwrite=True)
    analysis.flux_points.write(outdir / name / "flux_points.fits", overwrite=True)
    print(name, len(analysis.datasets), "datasets, fit", analysis.fit_result.success)
