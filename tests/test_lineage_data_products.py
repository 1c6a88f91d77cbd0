"""Products made outside the makers reach their inputs through recorded links (issue 19, part 3).

Two programs written the way gammapy's documentation teaches, run with ``python -m autoprov`` and
its default options:

* an exclusion mask built from the 3FHL catalog's source positions through ``geom.region_mask``,
  ``~`` and ``&=`` (the "mask maps" tutorial), then written: its lineage reaches the catalog file;
* a counts map created empty (``Map.create``), filled in place by ``Map.fill_events(obs.events)``
  for each of the 105 H.E.S.S. DL3-DR1 observations, then written: its lineage reaches every
  observation's DL3 file.

Both through links the record holds, never the "read by the run before" fallback.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GAMMAPY_DATA, environment

pytestmark = [pytest.mark.slow, pytest.mark.gammapy]

MASK = '''
import astropy.units as u
from astropy.coordinates import Angle, SkyCoord
from regions import CircleSkyRegion
from gammapy.catalog import SourceCatalog3FHL
from gammapy.maps import WcsGeom

geom = WcsGeom.create(skydir=SkyCoord(0, 0, unit="deg", frame="galactic"), width=(10, 5), binsz=0.1, frame="galactic")
mask_map = geom.region_mask([CircleSkyRegion(SkyCoord(0, 0, unit="deg", frame="galactic"), 4 * u.deg)])

fgl = SourceCatalog3FHL()
inside_geom = geom.contains(fgl.positions)
positions = fgl.positions[inside_geom]
exclusion_radius = Angle("0.3 deg")
regions = [CircleSkyRegion(position, exclusion_radius) for position in positions]
mask_map_catalog = ~geom.region_mask(regions=regions)
mask_map &= mask_map_catalog
mask_map.write("exclusion_mask.fits", overwrite=True)
print(f"{len(regions)} sources excluded")
'''

SURVEY = '''
from astropy.coordinates import SkyCoord
from gammapy.data import DataStore
from gammapy.maps import Map

data_store = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1")
observations = data_store.get_observations()
counts = Map.create(skydir=SkyCoord(0, 0, unit="deg", frame="galactic"), width=(360, 180), binsz=2,
                    proj="CAR", frame="galactic")
for observation in observations:
    counts.fill_events(observation.events)
counts.write("survey_counts.fits", overwrite=True)
print(f"{len(observations)} observations, {counts.data.sum():.0f} events")
'''


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment(), timeout=900)
    assert done.returncode == 0, done.stderr
    return done


def sources(node: dict) -> dict[str, bool]:
    """Files no recorded run produced that the tree reaches: path -> reached only by inference."""
    generation = node.get("generation")
    if generation is None:
        return {node["path"]: node.get("inferred", False)}
    found: dict[str, bool] = {}
    for item in generation["inputs"]:
        for path, inferred in sources(item).items():
            found[path] = found.get(path, True) and (inferred or node.get("inferred", False))
    return found


def lineage_of(cwd: Path, product: str) -> dict[str, bool]:
    tree = json.loads(run(cwd, "lineage", "--format", "json", product).stdout)
    assert tree["produced"], tree
    return sources(tree["root"])


def test_exclusion_mask_from_catalog_positions_reaches_the_catalog(tmp_path) -> None:
    (tmp_path / "exclusion_mask.py").write_text(MASK)
    done = run(tmp_path, "exclusion_mask.py")
    assert "sources excluded" in done.stdout
    catalog = str(GAMMAPY_DATA / "catalogs" / "fermi" / "gll_psch_v13.fit.gz")
    assert lineage_of(tmp_path, "exclusion_mask.fits") == {catalog: False}  # recorded, not inferred
    text = run(tmp_path, "lineage", "exclusion_mask.fits").stdout
    assert "gll_psch_v13.fit.gz" in text and "not linked to it in the record" not in text


def test_survey_counts_map_reaches_every_observation(tmp_path) -> None:
    import autoprov

    (tmp_path / "survey.py").write_text(SURVEY)
    done = run(tmp_path, "survey.py")
    assert done.stdout.startswith("105 observations")
    dl3 = {str(path) for path in (GAMMAPY_DATA / "hess-dl3-dr1" / "data").glob("hess_dl3_dr1_obs_id_*.fits.gz")}
    assert len(dl3) == 105
    reached = lineage_of(tmp_path, "survey_counts.fits")
    assert dl3 <= set(reached)
    assert not [path for path in dl3 if reached[path]], "DL3 files reached only by inference"
    # the same through the Python API
    lineage = autoprov.Store(tmp_path / ".prov").lineage(tmp_path / "survey_counts.fits")
    assert lineage.produced and lineage.root.generation.activity == "gammapy.maps.core.Map.write"


UNLINKED = '''
import os
from astropy.coordinates import SkyCoord
from astropy.table import Table
from gammapy.maps import Map

table = Table.read(os.path.expandvars("$GAMMAPY_DATA/hess-dl3-dr1/obs-index.fits.gz"))
exposure = Map.create(skydir=SkyCoord(83.63, 22.01, unit="deg"), width=2, binsz=0.5)
exposure.data += table["ONTIME"].sum()  # plain numpy: no recorded call links the map to the table
exposure.write("exposure.fits", overwrite=True)
'''


def test_unlinked_product_gets_an_inferred_derivation_marked_as_such(tmp_path) -> None:
    import prov

    from conftest import wait_for_outputs

    (tmp_path / "unlinked.py").write_text(UNLINKED)
    run(tmp_path, "unlinked.py")
    run_dir = next(path for path in (tmp_path / ".prov").iterdir() if (path / "events.jsonl").exists())
    doc = prov.read(str(run_dir / "provenance.json")).unified()
    locations = {str(record.identifier): str(next(iter(record.get_attribute("prov:location")), ""))
                 for record in doc.get_records(prov.model.ProvEntity)}
    derivations = [(locations.get(str(next(iter(r.get_attribute("prov:generatedEntity"))))),
                    locations.get(str(next(iter(r.get_attribute("prov:usedEntity"))))),
                    {str(t) for t in r.get_attribute("prov:type")}) for r in doc.get_records(prov.model.ProvDerivation)]
    index = str(GAMMAPY_DATA / "hess-dl3-dr1" / "obs-index.fits.gz")
    product = str(tmp_path / "exposure.fits")
    assert [(out, source) for out, source, types in derivations if "autoprov:InferredDerivation" in types] == [(product, index)]
    assert not [1 for out, source, types in derivations if source == index and "autoprov:InferredDerivation" not in types]
    assert lineage_of(tmp_path, "exposure.fits") == {index: True}  # inferred, and said so
    assert "not linked to it in the record" in run(tmp_path, "lineage", "exposure.fits").stdout
    run(tmp_path, "lineage", "exposure.fits", "--graph", "lineage.dot")
    assert 'label="inferred: read before"' in (tmp_path / "lineage.dot").read_text()
    assert 'label="inferred"' in (run_dir / "graph.dot").read_text()
    wait_for_outputs(run_dir, ("report.html",))
    report = (run_dir / "report.html").read_text()
    assert re.search(r'"inferred":\[\d+\]', report)  # the product's entry lists its inferred source
    assert "inferred from (not in the record" in report
