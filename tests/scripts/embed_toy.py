"""A small analysis for the FITS embedding tests: a scaled integer image, a gzipped table with
checksums, and a text file, made by recorded calls with parameters."""

import sys

import numpy as np
from astropy.io import fits


def make_image(n, scale=0.5):
    hdu = fits.PrimaryHDU(np.arange(n * n, dtype=np.float32).reshape(n, n) * scale)
    hdu.scale("int16", bscale=scale, bzero=0)  # stored scaled: BSCALE/BZERO must survive untouched
    return hdu


def make_table(n, label="counts"):
    return fits.BinTableHDU.from_columns([fits.Column(name=label.upper(), format="D", array=np.linspace(0, 1, n))], name="RESULTS")


def main(source, outdir):
    with open(source) as handle:
        n = int(handle.read())
    make_image(n).writeto(f"{outdir}/image.fits", overwrite=True)
    fits.HDUList([fits.PrimaryHDU(), make_table(n)]).writeto(f"{outdir}/table.fits.gz", overwrite=True, checksum=True)
    with open(f"{outdir}/notes.txt", "w") as handle:
        handle.write(f"n = {n}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
