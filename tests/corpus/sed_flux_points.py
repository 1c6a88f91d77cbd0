"""SED fitting of flux points: H.E.S.S. Crab flux points and the 3FHL catalogue's, fitted jointly.

In the style of gammapy's "Flux point fitting" tutorial.  Products (in the folder given as the
first argument, default the working directory): the Fermi-LAT flux points taken from the
catalogue, the fitted log-parabola and the fit's residuals as a table.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.table import Table

from gammapy.catalog import SourceCatalog3FHL
from gammapy.datasets import Datasets, FluxPointsDataset
from gammapy.estimators import FluxPoints
from gammapy.modeling import Fit
from gammapy.modeling.models import LogParabolaSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

catalog = SourceCatalog3FHL("$GAMMAPY_DATA/catalogs/fermi/gll_psch_v13.fit.gz")
crab_lat = catalog["3FHL J0534.5+2201"]
print(f"3FHL: {len(catalog.table)} sources; {crab_lat.name} flux points: {len(crab_lat.flux_points.energy_ref)}")
fermi_points = crab_lat.flux_points
fermi_points.write(outdir / "crab_3fhl_flux_points.fits", overwrite=True)

hess_points = FluxPoints.read("$GAMMAPY_DATA/estimators/crab_hess_fp/crab_hess_fp.fits")
print(f"H.E.S.S. flux points: {len(hess_points.energy_ref)}, from {hess_points.energy_min[0]:.2f} to {hess_points.energy_max[-1]:.1f}")

spectral_model = LogParabolaSpectralModel(amplitude=3.5e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV, alpha=2.5, beta=0.1)
model = SkyModel(spectral_model=spectral_model, name="crab")
datasets = Datasets([
    FluxPointsDataset(models=model, data=fermi_points, name="fermi"),
    FluxPointsDataset(models=model, data=hess_points, name="hess"),
])
result = Fit().run(datasets=datasets)
print(f"Fit: success={result.success}, alpha={spectral_model.alpha.value:.3f}, beta={spectral_model.beta.value:.3f}")

datasets.models.write(outdir / "crab_sed_model.yaml", overwrite=True)
hess = datasets["hess"]
residuals = Table({"energy_ref": hess.data.energy_ref, "diff_over_model": hess.residuals(method="diff/model").ravel()})
residuals.write(outdir / "crab_sed_residuals.ecsv", overwrite=True)
