"""A 4-worker pool analysis: the Crab 1D reduction of four observations in a multiprocessing pool.

Each worker reduces one H.E.S.S. observation (the three makers of ``examples/crab_1d.py``); the
parent fits the four spectra and estimates flux points.  ``--workers 0`` runs the same reduction
in a loop in the parent: the serial case the pool is compared with.

    python pool_analysis.py --workers 4 [--start-method fork|spawn|forkserver]
"""

import argparse
import multiprocessing
import os
from pathlib import Path

import astropy.units as u
from astropy.coordinates import Angle, SkyCoord
from regions import CircleSkyRegion

from gammapy.data import DataStore
from gammapy.datasets import Datasets, SpectrumDataset
from gammapy.estimators import FluxPointsEstimator
from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
from gammapy.maps import Map, MapAxis, RegionGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import LogParabolaSpectralModel, SkyModel

DATA = Path(os.environ.get("GAMMAPY_DATA", Path(__file__).resolve().parents[3] / "shared" / "data" / "gammapy-data"))
OBS_IDS = [23523, 23526, 23559, 23592]


def reduce_observation(obs_id):
    """One worker's task: the spectrum dataset of one observation."""
    observation = DataStore.from_dir(DATA / "hess-dl3-dr1").obs(obs_id)
    on_region = CircleSkyRegion(center=SkyCoord(ra=83.63, dec=22.01, unit="deg", frame="icrs"), radius=Angle("0.11 deg"))
    energy_axis = MapAxis.from_energy_bounds(0.1, 40, nbin=5, per_decade=True, unit="TeV", name="energy")
    energy_axis_true = MapAxis.from_energy_bounds(0.05, 100, nbin=10, per_decade=True, unit="TeV", name="energy_true")
    empty = SpectrumDataset.create(geom=RegionGeom.create(region=on_region, axes=[energy_axis]), energy_axis_true=energy_axis_true)
    mask = Map.read(DATA / "joint-crab" / "exclusion" / "exclusion_mask_crab.fits.gz")
    mask.data = mask.data.astype(bool)
    dataset = SpectrumDatasetMaker(containment_correction=True, selection=["counts", "exposure", "edisp"]).run(
        empty.copy(name=str(obs_id)), observation)
    dataset = ReflectedRegionsBackgroundMaker(exclusion_mask=mask).run(dataset, observation)
    return SafeMaskMaker(methods=["aeff-max"], aeff_percent=10).run(dataset, observation)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--start-method", default="fork")
    args = parser.parse_args()
    if args.workers:
        with multiprocessing.get_context(args.start_method).Pool(args.workers) as pool:
            datasets = Datasets(pool.map(reduce_observation, OBS_IDS))
    else:
        datasets = Datasets([reduce_observation(obs_id) for obs_id in OBS_IDS])
    model = SkyModel(spectral_model=LogParabolaSpectralModel(amplitude=3.5e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV,
                                                             alpha=2.5, beta=0.1), name="crab")
    datasets.models = [model]
    result = Fit().run(datasets=datasets)
    flux_points = FluxPointsEstimator(energy_edges=MapAxis.from_energy_bounds("1 TeV", "30 TeV", nbin=4).edges, source="crab",
                                      selection_optional=[]).run(datasets=datasets)
    print(f"fit {result.total_stat:.3f}; TS {[round(float(ts), 2) for ts in flux_points.ts.data.ravel()]}")


if __name__ == "__main__":
    main()
