"""Priors and upper limits on simulated spectra: a Gaussian prior on the index, flux upper limits.

In the style of gammapy's "Priors" and "Constraining parameter limits" tutorials: two simulated
OGIP spectra are read, a power law is fitted with and without a Gaussian prior on its index, the
flux points carry upper limits, and the amplitude fitted to the second spectrum gets an upper limit.
Products (in the folder given as the first argument, default the working directory): the fitted
models with the prior, the flux points and a table of the amplitude limit.
"""

import sys
from pathlib import Path

import astropy.units as u
from astropy.table import Table

from gammapy.datasets import Datasets, SpectrumDatasetOnOff
from gammapy.estimators import FluxPointsEstimator, ParameterEstimator
from gammapy.maps import MapAxis
from gammapy.modeling import Fit
from gammapy.modeling.models import GaussianPrior, PowerLawSpectralModel, SkyModel

outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
outdir.mkdir(parents=True, exist_ok=True)

datasets = Datasets([
    SpectrumDatasetOnOff.read("$GAMMAPY_DATA/datasets/simulations/simulated_spectrum_dataset_PL.fits", name="sim-pl"),
    SpectrumDatasetOnOff.read("$GAMMAPY_DATA/datasets/simulations/simulated_spectrum_dataset_ECPL.fits", name="sim-ecpl"),
])
print(f"Datasets: {[(d.name, int(d.counts.data.sum())) for d in datasets]}")
dataset = datasets["sim-pl"]

spectral_model = PowerLawSpectralModel(index=2.0, amplitude=1e-12 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
dataset.models = [SkyModel(spectral_model=spectral_model, name="source")]
Fit().run(datasets=[dataset])
print(f"Without prior: index {spectral_model.index.value:.3f} +/- {spectral_model.index.error:.3f}")

spectral_model.index.prior = GaussianPrior(mu=2.3, sigma=0.05)
result = Fit().run(datasets=[dataset])
print(f"With a Gaussian prior (2.3 +/- 0.05): index {spectral_model.index.value:.3f} +/- {spectral_model.index.error:.3f}, success={result.success}")
dataset.models.write(outdir / "sim_pl_model_with_prior.yaml", overwrite=True)

energy_edges = MapAxis.from_energy_bounds("1 TeV", "30 TeV", nbin=3).edges
flux_points = FluxPointsEstimator(energy_edges=energy_edges, source="source", selection_optional=["ul"]).run(datasets=[dataset])
print(f"Flux points: upper limits {[bool(x) for x in flux_points.is_ul.data.ravel()]}")
flux_points.write(outdir / "sim_pl_flux_points.fits", sed_type="dnde", overwrite=True)

# The second spectrum: errors and a 2 sigma upper limit on the amplitude of a power law
other = datasets["sim-ecpl"]
main = SkyModel(spectral_model=PowerLawSpectralModel(index=2.2, amplitude=1e-12 * u.Unit("cm-2 s-1 TeV-1")), name="main")
other.models = [main]
limit = ParameterEstimator(selection_optional=["ul"], n_sigma_ul=2).run(datasets=[other], parameter=main.spectral_model.amplitude)
print(f"Amplitude: {limit['amplitude']:.3g} +/- {limit['amplitude_err']:.2g}, 2 sigma upper limit {limit['amplitude_ul']:.3g}")
Table({name: [float(limit[name])] for name in ("amplitude", "amplitude_err", "amplitude_ul")}).write(outdir / "ecpl_amplitude_limit.ecsv", overwrite=True)
