"""The Crab 1D spectral analysis with gammapy's own parallel execution (``n_jobs``).

The same reduction and flux points as ``crab_1d.py``, written the way gammapy parallelises them:
a ``DatasetsMaker`` runs the makers of each of the four observations in a worker, and the
``FluxPointsEstimator`` fits each energy bin in a worker, through ``gammapy.utils.parallel`` with
the ``multiprocessing`` backend (any start method) or the ``ray`` backend (a local Ray started with
``ray.init``).  ``--n-jobs 1`` is the serial run of the same code.

Outputs (in ``--outdir``): the four spectrum datasets, the fitted model and the flux points.
"""

import argparse
import multiprocessing
import os
from pathlib import Path

import astropy.units as u
from astropy.coordinates import Angle, SkyCoord
from regions import CircleSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import SpectrumDataset
from gammapy.estimators import FluxPointsEstimator
from gammapy.makers import DatasetsMaker, ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
from gammapy.maps import Map, MapAxis, RegionGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import LogParabolaSpectralModel, SkyModel

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gammapy-data"
OBS_IDS = [23523, 23526, 23559, 23592]


def analysis(outdir: Path, n_jobs: int, backend: str) -> None:
    data = Path(os.environ.get("GAMMAPY_DATA", DEFAULT_DATA))
    observations = DataStore.from_dir(data / "hess-dl3-dr1").get_observations(OBS_IDS)

    on_region = CircleSkyRegion(center=SkyCoord(ra=83.63, dec=22.01, unit="deg", frame="icrs"), radius=Angle("0.11 deg"))
    energy_axis = MapAxis.from_energy_bounds(0.1, 40, nbin=5, per_decade=True, unit="TeV", name="energy")
    energy_axis_true = MapAxis.from_energy_bounds(0.05, 100, nbin=10, per_decade=True, unit="TeV", name="energy_true")
    dataset_empty = SpectrumDataset.create(geom=RegionGeom.create(region=on_region, axes=[energy_axis]), energy_axis_true=energy_axis_true)

    exclusion_mask = Map.read(data / "joint-crab" / "exclusion" / "exclusion_mask_crab.fits.gz")
    exclusion_mask.data = exclusion_mask.data.astype(bool)
    makers = [
        SpectrumDatasetMaker(containment_correction=True, selection=["counts", "exposure", "edisp"]),
        ReflectedRegionsBackgroundMaker(exclusion_mask=exclusion_mask),
        SafeMaskMaker(methods=["aeff-max"], aeff_percent=10),
    ]
    maker = DatasetsMaker(makers, stack_datasets=False, n_jobs=n_jobs, parallel_backend=backend)
    datasets = maker.run(dataset_empty, observations)

    model = SkyModel(spectral_model=LogParabolaSpectralModel(amplitude=3.5e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV,
                                                             alpha=2.5, beta=0.1), name="crab")
    datasets.models = [model]
    result = Fit().run(datasets=datasets)
    print(f"Fit: success={result.success}, total stat {result.total_stat:.4f}")

    energy_edges = MapAxis.from_energy_bounds("1 TeV", "30 TeV", nbin=4).edges
    estimator = FluxPointsEstimator(energy_edges=energy_edges, source="crab", selection_optional=[], n_jobs=n_jobs, parallel_backend=backend)
    flux_points = estimator.run(datasets=datasets)
    print("Flux points TS:", [round(float(ts), 3) for ts in flux_points.ts.data.ravel()])

    outdir.mkdir(parents=True, exist_ok=True)
    datasets.write(outdir / "datasets.yaml", overwrite=True)
    datasets.models.write(outdir / "models.yaml", overwrite=True)
    flux_points.write(outdir / "flux_points.fits", overwrite=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", default="crab_1d_parallel_out", type=Path)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--backend", choices=["multiprocessing", "ray"], default="multiprocessing")
    parser.add_argument("--start-method", choices=["fork", "spawn", "forkserver"], default=None)
    args = parser.parse_args()
    if args.start_method:
        multiprocessing.set_start_method(args.start_method)
    if args.backend == "ray":
        import ray

        ray.init(num_cpus=args.n_jobs, include_dashboard=False, log_to_driver=False)
    try:
        analysis(args.outdir, args.n_jobs, args.backend)
    finally:
        if args.backend == "ray":
            ray.shutdown()


if __name__ == "__main__":
    main()
