"""Action-unit motion from a 3-D face rig (ICT-FaceKit, MIT), projected onto a photograph.

The rig (``resources/ict_facekit/ict_rig.npz``, made by ``make_rig.py`` from ICT-FaceKit) holds about 2,000
front-facing vertices of the ICT face model, its 53 ARKit-style expression shapes and 30 identity modes. The
kit's README maps FACS action units to expression shapes (:data:`RIG_AUS`). To move a photographed face:

1. the rig's face takes an identity (neutral + Σ cₖ·identityₖ, cₖ ~ N(0, 1));
2. an affine map from the rig's frontal plane to the image is fitted on the 68 landmark vertices (dlib's own
   Multi-PIE convention) against the photo's landmarks (brows, eyes, nose and mouth; not the jaw contour);
3. each vertex's expression displacement, mapped by that affine, is splatted into a dense image field with a
   normalised Gaussian kernel; the field fades to zero where the rig has no vertices.

So the photo keeps its real skin and the motion is the rig's (brows bunching for AU4, cheeks rising for AU6,
the nasolabial region following AU12). ICT Face Model Light defines its expression shapes once, on the
generic mesh, so an identity changes the motion only through where the vertices sit. The same identity also gives a static
*shape morph* of the photo (:meth:`RigFace.identity_field`): the non-affine part of the identity's
displacement, which changes face proportions without moving the face as a whole.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from tsfgui.resources import ROOT
from tsfgui.samples.source import SampleError

RIG_FILE = ROOT / "resources" / "ict_facekit" / "ict_rig.npz"

#: FACS action unit → ICT expression shapes and weights (the kit's README table; AU26 as half a jaw opening).
RIG_AUS: dict[int, dict[str, float]] = {
    1: {"browInnerUp_L": 1.0, "browInnerUp_R": 1.0},
    2: {"browOuterUp_L": 1.0, "browOuterUp_R": 1.0},
    4: {"browDown_L": 1.0, "browDown_R": 1.0},
    5: {"eyeWide_L": 1.0, "eyeWide_R": 1.0},
    6: {"cheekSquint_L": 1.0, "cheekSquint_R": 1.0},
    7: {"eyeSquint_L": 1.0, "eyeSquint_R": 1.0},
    9: {"noseSneer_L": 1.0, "noseSneer_R": 1.0},
    10: {"mouthShrugUpper": 1.0},
    11: {"mouthUpperUp_L": 1.0, "mouthUpperUp_R": 1.0},
    12: {"mouthSmile_L": 1.0, "mouthSmile_R": 1.0},
    14: {"mouthDimple_L": 1.0, "mouthDimple_R": 1.0},
    15: {"mouthFrown_L": 1.0, "mouthFrown_R": 1.0},
    16: {"mouthLowerDown_L": 1.0, "mouthLowerDown_R": 1.0},
    17: {"mouthShrugLower": 1.0},
    18: {"mouthPucker": 1.0},
    20: {"mouthStretch_L": 1.0, "mouthStretch_R": 1.0},
    22: {"mouthFunnel": 1.0},
    24: {"mouthPress_L": 1.0, "mouthPress_R": 1.0},
    26: {"jawOpen": 0.5},
    27: {"jawOpen": 1.0},
    28: {"mouthRollLower": 1.0, "mouthRollUpper": 1.0},
    45: {"eyeBlink_L": 1.0, "eyeBlink_R": 1.0},
}

_FIT_POINTS = np.arange(17, 68)  # brows, nose, eyes, mouth: where rig and dlib landmarks mean the same point


@functools.lru_cache(maxsize=1)
def load_rig(path: str | None = None) -> dict[str, np.ndarray]:
    """The rig arrays (vertices, expressions by name, identities), read once."""
    p = Path(path) if path else RIG_FILE
    if not p.is_file():
        raise SampleError(f"The face rig '{p}' is missing; it ships in resources/ict_facekit (remake it with "
                          "resources/ict_facekit/make_rig.py from a checkout of ICT-VGL/ICT-FaceKit).")
    with np.load(p) as z:
        names = [str(n) for n in z["expression_names"]]
        return {"vertices": z["vertices"].astype(np.float64), "identities": z["identities"].astype(np.float64),
                "expressions": dict(zip(names, z["expressions"].astype(np.float64)))}


def rig_supports(aus: tuple[int, ...] | list[int]) -> bool:
    """Whether every AU has an expression shape in the rig (AU23, for one, has none)."""
    return all(a in RIG_AUS for a in aus)


def _affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares 2×3 affine taking ``src`` (n, 2) to ``dst`` (n, 2)."""
    a = np.hstack([src, np.ones((len(src), 1))])
    sol, *_ = np.linalg.lstsq(a, dst, rcond=None)
    return sol.T


def _frontal(points3: np.ndarray) -> np.ndarray:
    """Rig (x, y up) → image-like (x, y down) coordinates of the frontal plane."""
    return np.stack([points3[..., 0], -points3[..., 1]], -1)


class RigFace:
    """The rig fitted to one face's 68 landmarks in an image, with an identity.

    ``roi`` = (x0, y0, x1, y1) of the image region the dense fields cover.
    """

    def __init__(self, landmarks: np.ndarray, roi: tuple[int, int, int, int],
                 identity: np.ndarray | list[float] | None = None):
        rig = load_rig()
        coeffs = np.zeros(len(rig["identities"])) if identity is None else np.asarray(identity, np.float64)
        if coeffs.ndim != 1 or len(coeffs) > len(rig["identities"]):
            raise ValueError(f"identity must be at most {len(rig['identities'])} coefficients, got shape {coeffs.shape}")
        self.identity = coeffs
        self._identity_disp = np.tensordot(coeffs, rig["identities"][:len(coeffs)], 1)
        vertices = rig["vertices"] + self._identity_disp
        self._expressions = rig["expressions"]
        pts = np.asarray(landmarks, np.float64)
        flat = _frontal(vertices)
        self.matrix = _affine(flat[_FIT_POINTS], pts[_FIT_POINTS])
        self.points = flat @ self.matrix[:, :2].T + self.matrix[:, 2]          # (N, 2) image positions
        self.roi = tuple(int(v) for v in roi)
        x0, y0, x1, y1 = self.roi
        # kernel width: a little more than the vertex spacing in the image (vertices sit on a ~0.35 cm grid)
        px_per_cm = float(np.linalg.norm(self.matrix[:, :2], axis=0).mean())
        self.sigma = max(1.0, 0.45 * px_per_cm)
        xs = np.arange(x0, x1, dtype=np.float64)
        ys = np.arange(y0, y1, dtype=np.float64)
        s2 = 2 * self.sigma ** 2
        self._gx_t = np.exp(-((xs[:, None] - self.points[None, :, 0]) ** 2) / s2).T  # (N, w)
        self._gy = np.exp(-((ys[:, None] - self.points[None, :, 1]) ** 2) / s2)      # (h, N)
        den = self._gy @ self._gx_t
        self._den = np.maximum(den, 1e-9)
        inside = np.median(den[den > 0.5 * den.max()])
        t = np.clip(den / (0.5 * inside), 0.0, 1.0)
        self._fade = t * t * (3 - 2 * t)

    # displacements ------------------------------------------------------------------------------
    def vertex_displacement(self, aus: tuple[int, ...] | list[int]) -> np.ndarray:
        """(N, 2) image displacement of every rig vertex for the AUs at full strength."""
        disp = np.zeros_like(self.points)
        for au in aus:
            if au not in RIG_AUS:
                raise ValueError(f"AU{au} has no expression shape in the face rig; rig AUs: {sorted(RIG_AUS)}")
            for name, w in RIG_AUS[au].items():
                disp += w * (_frontal(self._expressions[name]) @ self.matrix[:, :2].T)
        return disp

    def dense(self, vertex_disp: np.ndarray) -> np.ndarray:
        """(h, w, 2) float32 field over :attr:`roi` from per-vertex displacements (normalised splatting)."""
        out = []
        for k in range(2):
            num = (self._gy * vertex_disp[:, k]) @ self._gx_t
            out.append(num / self._den * self._fade)
        return np.stack(out, -1).astype(np.float32)

    def au_field(self, aus: tuple[int, ...] | list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Dense field (h, w, 2) and the 68 landmarks' displacement (68, 2) of the AUs at full strength."""
        disp = self.vertex_displacement(aus)
        return self.dense(disp), disp[:68].copy()

    def identity_field(self, peak_px: float) -> tuple[np.ndarray, np.ndarray]:
        """Static shape morph towards this identity: the non-affine part of the identity's displacement,
        scaled so its largest vertex shift is ``peak_px``. Returns (dense field, landmarks' displacement)."""
        base = _frontal(load_rig()["vertices"]) @ self.matrix[:, :2].T
        shaped = self.points - self.matrix[:, 2]
        disp = shaped - base
        fit = _affine(base, shaped)  # remove what a global affine explains (size, position, shear)
        disp = shaped - (base @ fit[:, :2].T + fit[:, 2])
        peak = float(np.linalg.norm(disp, axis=1).max())
        if peak > 0:
            disp *= peak_px / peak
        return self.dense(disp), disp[:68].copy()
