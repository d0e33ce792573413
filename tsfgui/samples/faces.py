"""The public-domain face photographs the generator can use, by name (sources in resources/faces/SOURCES.md).

``astronaut`` comes with scikit-image; the others ship in ``resources/faces``. Each is loaded once, with its
68 landmarks found by the face pipeline.
"""

from __future__ import annotations

import functools

from tsfgui.resources import ROOT
from tsfgui.samples.source import ASTRONAUT, FacePhoto, SampleError, load_face_photo

FACES_DIR = ROOT / "resources" / "faces"

#: name → file in resources/faces (None: the astronaut photo from scikit-image).
FACE_FILES: dict[str, str | None] = {
    "astronaut": None,
    "obama": "obama.jpg",
    "biden": "biden.jpg",
    "grace_hopper": "grace_hopper_512x512.jpg",
}


def face_names() -> list[str]:
    """Names of the shipped face photographs, in a fixed order."""
    return list(FACE_FILES)


@functools.lru_cache(maxsize=None)
def load_face(name: str) -> FacePhoto:
    """The photograph ``name`` (see :data:`FACE_FILES`) with its landmarks."""
    if name not in FACE_FILES:
        raise SampleError(f"Unknown face '{name}'; shipped faces: {', '.join(FACE_FILES)}")
    file = FACE_FILES[name]
    if file is None:
        photo = load_face_photo(ASTRONAUT)
    else:
        path = FACES_DIR / file
        if not path.is_file():
            raise SampleError(f"The face photo '{path}' is missing from this installation; reinstall tsfgui.")
        photo = load_face_photo(path)
    return FacePhoto(photo.image, photo.landmarks, name)
