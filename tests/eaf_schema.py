"""ELAN's published EAF 3.0 schema, for validating exported ``.eaf`` files in the tests.

The schema (``EAFv3.0.xsd``, by the Max Planck Institute's ELAN team) is not fetched from mpi.nl,
which CI cannot reach: the source distribution of ``pympi-ling`` 1.71 on PyPI carries a copy in its
``test/`` folder. It is downloaded once into ``.cache/schemas/`` (git-ignored), checked against the
SHA-256 of the published file, and never committed. ``TSFGUI_EAF_XSD`` may point at a local copy
instead (e.g. one downloaded from https://www.mpi.nl/tools/elan/EAFv3.0.xsd).

Run ``python tests/eaf_schema.py`` to fetch it by hand.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SHA256 = "59e76f90d5840813314b1e635480d044287b811ebd63a40e25cb4e73c6ad72bb"
SDIST = "pympi-ling==1.71"
MEMBER = "pympi_ling-1.71/test/EAFv3.0.xsd"
CACHE = Path(__file__).resolve().parents[1] / ".cache" / "schemas" / "EAFv3.0.xsd"


class SchemaUnavailable(RuntimeError):
    """The schema could neither be found nor downloaded."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def eaf_schema_path() -> Path:
    """Path of a verified ``EAFv3.0.xsd``; downloads it on first use."""
    override = os.environ.get("TSFGUI_EAF_XSD")
    if override:
        path = Path(override)
        if not path.is_file():
            raise SchemaUnavailable(f"TSFGUI_EAF_XSD points to '{path}', which does not exist")
        return path
    if CACHE.is_file() and _sha256(CACHE.read_bytes()) == SHA256:
        return CACHE
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                              "--dest", tmp, SDIST], capture_output=True, text=True)
        archives = list(Path(tmp).glob("pympi_ling-1.71.tar.gz"))
        if run.returncode != 0 or not archives:
            raise SchemaUnavailable(f"could not download {SDIST} from PyPI for EAFv3.0.xsd: "
                                    f"{(run.stderr or run.stdout).strip()[-400:]}")
        with tarfile.open(archives[0]) as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                raise SchemaUnavailable(f"{archives[0].name} has no {MEMBER}")
            data = member.read()
    if _sha256(data) != SHA256:
        raise SchemaUnavailable(f"{MEMBER} in {SDIST} is not the published EAF 3.0 schema (SHA-256 differs)")
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = CACHE.with_suffix(".part")
    tmp_path.write_bytes(data)
    tmp_path.replace(CACHE)
    return CACHE


if __name__ == "__main__":
    print(eaf_schema_path())
