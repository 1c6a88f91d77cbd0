"""Provenance inside FITS products: keywords in every HDU, a PROVENANCE table, data untouched, record updated."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import warnings
from pathlib import Path

import prov
import xxhash
from astropy.io import fits

from autoprov.export.fits_embed import EMBED_KEYWORDS, document_digest, from_fits

from conftest import SCRIPTS, environment

OPTIONS = ["--filter", "none", "--match", "__main__:*", "--graph", "none"]
PRODUCTS = ("image.fits", "table.fits.gz")


def autoprov(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=cwd, capture_output=True, text=True, env=environment(), timeout=300)


def record(cwd: Path, *options: str) -> subprocess.CompletedProcess:
    """The embedding toy under autoprov in ``cwd``: in.txt in, out/{image.fits,table.fits.gz,notes.txt} out."""
    cwd.mkdir(parents=True, exist_ok=True)
    (cwd / "in.txt").write_text("6\n")
    (cwd / "out").mkdir(exist_ok=True)
    done = autoprov(cwd, "--store", ".prov", *OPTIONS, *options, str(SCRIPTS / "embed_toy.py"), "in.txt", "out")
    assert done.returncode == 0, done.stderr
    return done


def hdus_of(content: bytes):
    return fits.open(io.BytesIO(gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content), do_not_scale_image_data=True)


def data_sections(content: bytes) -> list[bytes]:
    """The raw bytes of every HDU's data as stored in the file (after gzip)."""
    plain = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
    with fits.open(io.BytesIO(plain)) as hdus:
        infos = [hdus.fileinfo(index) for index in range(len(hdus))]
    return [plain[info["datLoc"]:info["datLoc"] + info["datSpan"]] for info in infos]


def test_embed_after_the_fact_keeps_every_hdu_and_adds_the_record(tmp_path):
    record(tmp_path)
    before = {name: (tmp_path / "out" / name).read_bytes() for name in (*PRODUCTS, "notes.txt")}
    done = autoprov(tmp_path, "embed", "--store", ".prov")
    assert done.returncode == 0, done.stderr
    lines = sorted(done.stdout.splitlines())
    assert [line.split()[:2] for line in lines] == [["embedded", "out/image.fits"], ["embedded", "out/table.fits.gz"]]
    assert (tmp_path / "out" / "notes.txt").read_bytes() == before["notes.txt"]  # not FITS: untouched
    for name in PRODUCTS:
        after = (tmp_path / "out" / name).read_bytes()
        assert data_sections(after)[:-1] == data_sections(before[name])  # every existing HDU's data, byte for byte
        with hdus_of(before[name]) as old, warnings.catch_warnings():
            warnings.simplefilter("error")  # a stale CHECKSUM would warn
            with fits.open(io.BytesIO(gzip.decompress(after) if name.endswith(".gz") else after), checksum=True, do_not_scale_image_data=True) as new:
                assert [hdu.name for hdu in new] == [hdu.name for hdu in old] + ["PROVENANCE"]
                for old_hdu, new_hdu in zip(old, new):
                    for card in old_hdu.header.cards:  # every card kept, only checksums renewed
                        if card.keyword not in ("CHECKSUM", "DATASUM"):
                            assert new_hdu.header[card.keyword] == card.value, (name, card.keyword)
                for hdu in new:
                    assert [keyword for keyword in EMBED_KEYWORDS if keyword in hdu.header] == list(EMBED_KEYWORDS)
                    assert hdu.header["PROVHDU"] == "PROVENANCE" and hdu.header["PROVRUN"] == new[0].header["PROVRUN"]
    with fits.open(tmp_path / "out" / "image.fits") as hdus:  # still scaled as the script wrote it
        assert hdus[0].header["BSCALE"] == 0.5 and hdus[0].data[1, 2] == 4.0
    done = autoprov(tmp_path, "embed", "--store", ".prov")  # once is enough
    assert done.returncode == 0 and done.stdout.count("already embedded") == 2


def test_the_table_converts_back_to_the_products_chain(tmp_path):
    record(tmp_path, "--embed", "fits")
    image = tmp_path / "out" / "image.fits"
    header = fits.getheader(image, 0)
    done = autoprov(tmp_path, "export", "--from-fits", str(image))
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document == from_fits(image) and document_digest(document) == header["PROVDIG"]
    doc = prov.read(io.StringIO(done.stdout), format="json")
    entities = {str(e.identifier): e for e in doc.get_records(prov.model.ProvEntity)}
    activities = {str(a.identifier): a for a in doc.get_records(prov.model.ProvActivity)}
    product = entities[header["PROVENT"]]  # the image as the script wrote it
    assert str(next(iter(product.get_attribute("prov:location")))) == str(image)
    writer = activities[header["PROVACT"]]
    assert str(next(iter(writer.get_attribute("prov:label")))) == "__main__.main"
    maker = next(a for a in activities.values() if str(next(iter(a.get_attribute("prov:label")))) == "__main__.make_image")
    assert {str(k): v for k, v in maker.attributes}["param:n"] == 6  # parameters of the chain
    source = next(e for e in entities.values() if str(next(iter(e.get_attribute("prov:label")))) == "in.txt")
    assert str(next(iter(source.get_attribute("autoprov:digest")))) == xxhash.xxh3_128(b"6\n").hexdigest()
    derived = {(str(r.get_attribute("prov:generatedEntity").pop()), str(r.get_attribute("prov:usedEntity").pop()))
               for r in doc.get_records(prov.model.ProvDerivation)}
    assert (header["PROVENT"], str(source.identifier)) in derived  # what it was derived from
    assert "run:session" in activities and "run:environment" in entities
    assert not any("table.fits" in str(next(iter(e.get_attribute("prov:location")), "")) for e in entities.values()
                   if e.get_attribute("prov:location"))  # the other product is not part of this chain


def test_the_record_holds_the_embedded_versions(tmp_path):
    done = record(tmp_path, "--embed", "fits", "--export", "sync")
    assert "provenance embedded in 2 FITS files" in done.stderr
    (run_dir,) = [p for p in (tmp_path / ".prov").iterdir() if p.is_dir()]  # beside it: the run index
    verify = autoprov(tmp_path, "verify", "--store", ".prov")
    assert verify.returncode == 0, verify.stdout  # the files on disk are the recorded last versions
    doc = prov.read(run_dir / "provenance.json", format="json")
    image = {str(e.identifier): e for e in doc.get_records(prov.model.ProvEntity)
             if e.get_attribute("prov:location") and str(next(iter(e.get_attribute("prov:location")))).endswith("image.fits")}
    versions = {int(next(iter(e.get_attribute("autoprov:version")))): name for name, e in image.items()}
    assert sorted(versions) == [1, 2]
    assert versions[1] == fits.getheader(tmp_path / "out" / "image.fits", 0)["PROVENT"]
    assert next(iter(image[versions[2]].get_attribute("autoprov:digest"))) == xxhash.xxh3_128((tmp_path / "out" / "image.fits").read_bytes()).hexdigest()
    derived = {(str(r.get_attribute("prov:generatedEntity").pop()), str(r.get_attribute("prov:usedEntity").pop()))
               for r in doc.get_records(prov.model.ProvDerivation)}
    assert {used for generated, used in derived if generated == versions[2]} == {versions[1]}  # from the one the script wrote, only
    embed = [a for a in doc.get_records(prov.model.ProvActivity) if str(next(iter(a.get_attribute("prov:label")))) == "autoprov.embed"]
    assert len(embed) == 2  # one per file
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events[-1][0][0] == "act" and events[-1][-1][0] == "end"  # appended after EXIT, as one batch


def test_pyproject_setting_and_bad_values(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.autoprov]\nembed = ["fits"]\n')
    record(tmp_path)
    assert "PROVRUN" in fits.getheader(tmp_path / "out" / "image.fits", 0)
    record(tmp_path / "off", "--embed", "none")
    assert "PROVRUN" not in fits.getheader(tmp_path / "off" / "out" / "image.fits", 0)
    done = autoprov(tmp_path, "--embed", "hdf5", str(SCRIPTS / "embed_toy.py"), "in.txt", "out")
    assert done.returncode == 2 and "unknown --embed 'hdf5'" in done.stderr and "[AP001]" in done.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.autoprov]\nembed = "votable"\n')
    done = autoprov(tmp_path, str(SCRIPTS / "embed_toy.py"), "in.txt", "out")
    assert done.returncode == 2 and "pyproject.toml: [tool.autoprov] embed: unknown 'votable'" in done.stderr


def test_files_changed_since_the_run_are_left_alone(tmp_path):
    record(tmp_path)
    fits.PrimaryHDU().writeto(tmp_path / "out" / "table.fits.gz", overwrite=True)  # another FITS file now
    done = autoprov(tmp_path, "embed", "--store", ".prov")
    assert done.returncode == 1
    assert "left      out/table.fits.gz  skipped: changed since the run" in done.stdout
    assert "embedded  out/image.fits" in done.stdout
