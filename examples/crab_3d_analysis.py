"""3D analysis of the Crab Nebula with the gammapy high-level interface.

Reads the analysis configuration from ``crab_3d_config.yaml`` (next to this script, or given with
``--config``), selects the four H.E.S.S. DL3-DR1 Crab runs, reduces them to one stacked map
dataset, fits a point source with a power-law spectrum and computes flux points.

Outputs (in ``--outdir``): the stacked dataset, the fitted models as YAML and the flux points.
``$GAMMAPY_DATA`` defaults to ``../shared/data/gammapy-data`` next to this repository.
"""

import argparse
import os
from pathlib import Path

from gammapy.analysis import Analysis, AnalysisConfig
from gammapy.modeling.models import Models

HERE = Path(__file__).resolve().parent
os.environ.setdefault("GAMMAPY_DATA", str(HERE.parents[1] / "shared" / "data" / "gammapy-data"))

MODELS = """
components:
- name: crab
  type: SkyModel
  spatial:
    type: PointSpatialModel
    frame: icrs
    parameters:
    - {name: lon_0, value: 83.63, unit: deg}
    - {name: lat_0, value: 22.01, unit: deg}
  spectral:
    type: PowerLawSpectralModel
    parameters:
    - {name: amplitude, value: 4.0e-11, unit: cm-2 s-1 TeV-1}
    - {name: index, value: 2.5, unit: ''}
    - {name: reference, value: 1.0, unit: TeV, frozen: true}
"""

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--config", default=HERE / "crab_3d_config.yaml", help="AnalysisConfig YAML file")
parser.add_argument("--outdir", default="crab_3d_out", help="output directory")
args = parser.parse_args()
outdir = Path(args.outdir)
outdir.mkdir(parents=True, exist_ok=True)

config = AnalysisConfig.read(args.config)
analysis = Analysis(config)

analysis.get_observations()
print(f"Observations: {len(analysis.observations)} runs")

analysis.get_datasets()
stacked = analysis.datasets[0]
print(f"Stacked dataset: {tuple(int(n) for n in stacked.counts.geom.data_shape)} bins, {stacked.counts.data.sum():.0f} counts")

models = Models.from_yaml(MODELS)
# keep the background model the FoV background maker fitted, add the source
analysis.set_models(models, extend=True)

analysis.run_fit()
print(f"Fit: success={analysis.fit_result.success}, total stat {analysis.fit_result.total_stat:.2f}")
for parameter in analysis.models["crab"].parameters.free_parameters:
    print(f"  {parameter.name:>10} = {parameter.value:.4g} +/- {parameter.error:.2g} {parameter.unit}")

analysis.get_flux_points()
flux_points = analysis.flux_points.data
print(f"Flux points: {len(flux_points.energy_ref)} bins")

analysis.datasets.write(outdir / "datasets.yaml", overwrite=True)
analysis.models.write(outdir / "models.yaml", overwrite=True)
flux_points.write(outdir / "flux_points.fits", overwrite=True)
config.write(outdir / "config.yaml", overwrite=True)
print(f"Wrote datasets, models, flux points and config to {outdir}")
