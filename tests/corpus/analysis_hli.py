"""The high-level interface: a 1D Crab analysis driven by a YAML configuration.

In the style of gammapy's "Spectral analysis with the HLI" tutorial: ``AnalysisConfig.read`` of
``analysis_1d.yaml`` beside this script, observations and datasets from it, a model set from a
YAML string, the fit and the flux points.  Products (in the folder given as the first argument,
default the working directory): the configuration as run, the datasets, the fitted models and the
flux points.
"""

import sys
from pathlib import Path

from gammapy.analysis import Analysis, AnalysisConfig

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

config = AnalysisConfig.read(Path(__file__).with_name("analysis_1d.yaml"))
config.general.outdir = str(outdir)
config.general.datasets_file = str(outdir / "crab_hli_datasets.yaml")
config.general.models_file = str(outdir / "crab_hli_models.yaml")
config.write(outdir / "config_as_run.yaml", overwrite=True)

analysis = Analysis(config)
analysis.get_observations()
print(f"Observations: {analysis.observations.ids}")
analysis.get_datasets()
print(f"Datasets: {analysis.datasets.names}, {int(analysis.datasets[0].counts.data.sum())} ON counts")

model = """
components:
- name: crab
  type: SkyModel
  spectral:
    type: PowerLawSpectralModel
    parameters:
    - {name: index, value: 2.6}
    - {name: amplitude, value: 4.0e-11, unit: cm-2 s-1 TeV-1}
    - {name: reference, value: 1.0, unit: TeV, frozen: true}
"""
analysis.set_models(model)
analysis.run_fit()
print(f"Fit: success={analysis.fit_result.success}, index={analysis.models['crab'].spectral_model.index.value:.3f}")
analysis.get_flux_points()
print(f"Flux points: {len(analysis.flux_points.data.energy_ref)}")

analysis.write_datasets(overwrite=True)
analysis.write_models(overwrite=True)
analysis.flux_points.data.write(outdir / "crab_hli_flux_points.fits", overwrite=True)
