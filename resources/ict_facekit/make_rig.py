"""Extract the compact face rig (``ict_rig.npz``) from a checkout of ICT-FaceKit (MIT licence).

Usage: ``python resources/ict_facekit/make_rig.py GIT_DIR_OR_FOLDER [--identities 30] [--cell 0.35]``
where the argument is a working tree of https://github.com/ICT-VGL/ICT-FaceKit or its bare git directory.

What is kept (everything in the model's own units, centimetres, y up, z towards the viewer):

* ``vertices`` (N, 3) float32: the neutral positions of a subset of the *narrow face area* (vertices
  0–6705): the 68 Multi-PIE landmark vertices listed in the kit's README, then one vertex per
  ``cell`` × ``cell`` cm square of the frontal (x, y) plane, taking only vertices that face the camera;
* ``landmarks`` (68,) int: the rows of ``vertices`` that are the 68 landmarks (dlib's order);
* ``expressions`` (53, N, 3) float16: each ARKit-style expression shape minus the neutral mesh;
* ``expression_names`` (53,): their names (``browInnerUp_L`` …);
* ``identities`` (K, N, 3) float16: the first K identity PCA modes minus the neutral mesh
  (weights ~ N(0, 1) give plausible faces, as the kit's ``randomize_identity`` draws them).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
from pathlib import Path

import numpy as np

LANDMARKS = [1225, 1888, 1052, 367, 1719, 1722, 2199, 1447, 966, 3661, 4390, 3927, 3924, 2608, 3272, 4088, 3443,
             268, 493, 1914, 2044, 1401, 3615, 4240, 4114, 2734, 2509, 978, 4527, 4942, 4857, 1140, 2075, 1147,
             4269, 3360, 1507, 1542, 1537, 1528, 1518, 1511, 3742, 3751, 3756, 3721, 3725, 3732, 5708, 5695, 2081,
             0, 4275, 6200, 6213, 6346, 6461, 5518, 5957, 5841, 5702, 5711, 5533, 6216, 6207, 6470, 5517, 5966]
NARROW_FACE = 6706


def _reader(source: Path):
    if (source / "FaceXModel").is_dir():
        return lambda rel: (source / rel).read_bytes()
    return lambda rel: subprocess.run(["git", "--git-dir", str(source), "show", f"HEAD:{rel}"],
                                      check=True, capture_output=True).stdout


def _vertices(blob: bytes, count: int) -> np.ndarray:
    lines = [ln[2:] for ln in blob.split(b"\n") if ln.startswith(b"v ")][:count]
    return np.loadtxt(io.BytesIO(b"\n".join(lines)), dtype=np.float64)


def _normals_z(points: np.ndarray, faces: list[list[int]]) -> np.ndarray:
    nz = np.zeros(len(points))
    for f in faces:
        if max(f) >= len(points):
            continue
        a, b, c = points[f[0]], points[f[1]], points[f[2]]
        n = np.cross(b - a, c - a)
        n /= np.linalg.norm(n) + 1e-12
        for i in f:
            nz[i] += n[2]
    return nz


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path)
    ap.add_argument("--identities", type=int, default=30)
    ap.add_argument("--cell", type=float, default=0.35, help="grid cell in cm for the vertex subset")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("ict_rig.npz"))
    args = ap.parse_args()
    read = _reader(args.source)
    names = json.loads(read("FaceXModel/vertex_indices.json"))["expressions"]
    neutral_blob = read("FaceXModel/generic_neutral_mesh.obj")
    neutral = _vertices(neutral_blob, NARROW_FACE)
    faces = [[int(t.split(b"/")[0]) - 1 for t in ln.split()[1:]] for ln in neutral_blob.split(b"\n")
             if ln.startswith(b"f ")]
    facing = _normals_z(neutral, faces) > 0.2
    keep = list(LANDMARKS)
    seen = set()
    cells = np.floor(neutral[:, :2] / args.cell).astype(int)
    for i in np.argsort(-neutral[:, 2]):  # the front-most vertex of each cell
        key = tuple(cells[i])
        if facing[i] and key not in seen and i not in LANDMARKS:
            seen.add(key)
            keep.append(int(i))
    idx = np.array(keep)
    expressions = np.stack([_vertices(read(f"FaceXModel/{n}.obj"), NARROW_FACE)[idx] - neutral[idx] for n in names])
    identities = np.stack([_vertices(read(f"FaceXModel/identity{k:03d}.obj"), NARROW_FACE)[idx] - neutral[idx]
                           for k in range(args.identities)])
    np.savez_compressed(args.out, vertices=neutral[idx].astype(np.float32), landmarks=np.arange(68),
                        source_indices=idx.astype(np.int32), expressions=expressions.astype(np.float16),
                        expression_names=np.array(names), identities=identities.astype(np.float16))
    print(f"{args.out}: {len(idx)} vertices, {len(names)} expressions, {args.identities} identity modes, "
          f"{args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
