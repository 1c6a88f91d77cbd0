"""Crab Nebula seen by Fermi-LAT, H.E.S.S. and MAGIC: one model fitted jointly to a 3D and 1D datasets.

In the style of gammapy's "Multi instrument joint 3D and 1D analysis" tutorial: the Fermi-LAT 3FHL
map dataset with its models, and the H.E.S.S. and MAGIC ON/OFF spectra (OGIP) of the joint-Crab
data, share one sky model.  Products (in the folder given as the first argument, default the
working directory): the joint datasets and the fitted models.
"""

import sys
from pathlib import Path

from gammapy.datasets import Datasets, SpectrumDatasetOnOff
from gammapy.modeling import Fit
from gammapy.modeling.models import Models

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

fermi = Datasets.read("$GAMMAPY_DATA/fermi-3fhl-crab/Fermi-LAT-3FHL_datasets.yaml")
models = Models.read("$GAMMAPY_DATA/fermi-3fhl-crab/Fermi-LAT-3FHL_models.yaml")
hess = SpectrumDatasetOnOff.read("$GAMMAPY_DATA/joint-crab/spectra/hess/pha_obs23523.fits", name="hess-23523")
magic = SpectrumDatasetOnOff.read("$GAMMAPY_DATA/joint-crab/spectra/magic/pha_obs5029747.fits", name="magic-5029747")
print(f"Fermi-LAT dataset {fermi[0].counts.data.shape}, H.E.S.S. {int(hess.counts.data.sum())} ON, MAGIC {int(magic.counts.data.sum())} ON")

datasets = Datasets([fermi[0], hess, magic])
crab = models["Crab Nebula"]
crab.spatial_model.parameters.freeze_all()
datasets.models = models  # the Crab model applies to every dataset, the background model to Fermi-LAT's
print(f"Models: {datasets.models.names}")

result = Fit().run(datasets=datasets)
print(f"Joint fit: success={result.success}, total stat {result.total_stat:.1f}")
for parameter in crab.spectral_model.parameters.free_parameters:
    print(f"  {parameter.name:>10} = {parameter.value:.4g} {parameter.unit}")

datasets.write(outdir / "joint_datasets.yaml", overwrite=True)
datasets.models.write(outdir / "joint_models.yaml", overwrite=True)
