"""AU motion from the ICT-FaceKit rig on the shipped face photographs, and the multi-identity training set."""

from __future__ import annotations

import numpy as np
import pytest

from tsfgui.samples import Distractors, EventSpec, SampleRenderer, render_clip
from tsfgui.samples.faces import FACES_DIR, face_names, load_face
from tsfgui.samples.rig import RIG_FILE, load_rig

QUIET = Distractors.none()


def _rig_renderer(event: str, face: str = "obama", identity=None, seed: int = 3) -> SampleRenderer:
    return SampleRenderer(seed=seed, duration_s=1.2, fps=30, size=(224, 224), face_image=load_face(face),
                          events=[EventSpec(event, onset_s=0.2, amplitude=3.0, rise_s=0.2, fall_s=0.2)],
                          distractors=QUIET, motion="rig", identity=identity)


def test_the_rig_and_faces_ship_with_the_repository_small():
    assert RIG_FILE.stat().st_size < 3_000_000 and (RIG_FILE.parent / "LICENSE").read_text().startswith("MIT")
    rig = load_rig()
    assert rig["vertices"].shape[1] == 3 and len(rig["expressions"]) == 53 and len(rig["identities"]) >= 30
    sources = (FACES_DIR / "SOURCES.md").read_text()
    for name in face_names():
        assert name in sources
    assert all(p.stat().st_size < 400_000 for p in FACES_DIR.glob("*.jpg"))


@pytest.mark.parametrize("event, points, direction", [
    ("AU12", [48, 54], "up"),      # lip corners rise (and widen)
    ("AU15", [48, 54], "down"),    # lip corners fall
    ("AU4", [21, 22], "down"),     # inner brows lower
    ("AU1+AU2", [19, 24], "up"),   # brows rise
])
def test_rig_moves_the_landmarks_the_au_describes(event, points, direction):
    r = _rig_renderer(event)
    ev = r.truth.events[0]
    d = r.truth.landmarks[ev.apex] - r.truth.base_landmarks
    dy = d[points, 1]
    assert np.all(dy < -0.3) if direction == "up" else np.all(dy > 0.3)
    # the amplitude is the field's peak at the 224-px face scale, as for the landmark back end
    assert 2.5 < ev.amplitude_224 <= 3.0 + 1e-6
    onset, apex = r.frame(ev.onset).astype(int), r.frame(ev.apex).astype(int)
    assert np.abs(apex - onset).max() > 10 and np.array_equal(r.frame(0), r.frame(ev.onset))


def test_identity_morphs_the_face_and_the_motion():
    a = _rig_renderer("AU12", identity=np.random.default_rng(1).standard_normal(30))
    b = _rig_renderer("AU12", identity=np.random.default_rng(2).standard_normal(30))
    again = _rig_renderer("AU12", identity=np.random.default_rng(1).standard_normal(30))
    assert np.array_equal(a.frame(10), again.frame(10))             # deterministic
    assert not np.allclose(a.base_landmarks, b.base_landmarks)       # another face shape
    assert np.abs(a.base_frame.astype(int) - b.base_frame.astype(int)).max() > 20
    moved = [r.truth.landmarks[r.truth.events[0].apex] - r.base_landmarks for r in (a, b)]
    # ICT's expression shapes are the same for every identity: the motion differs only through the shape
    assert 1e-3 < np.abs(moved[0] - moved[1]).max() < 0.5
    with pytest.raises(ValueError, match="motion must be one of"):
        SampleRenderer(seed=1, duration_s=1, events=0, motion="mesh")


def test_rig_picks_only_event_types_it_can_render():
    r = SampleRenderer(seed=4, duration_s=40, fps=30, size=(160, 160), events=18, distractors=QUIET,
                       motion="rig", face_image=load_face("grace_hopper"))
    assert len(r.truth.events) == 18 and "AU23+AU24" not in {e.type for e in r.truth.events}
    with pytest.raises(ValueError, match="AU23 has no expression shape"):
        render_clip("AU23+AU24", motion="rig", size=(160, 160), face_image=load_face("biden"))


def test_multi_identity_set_is_built_offline_from_the_repository_files(tmp_path):
    from tsfgui.train import load_dataset
    from tsfgui.train.synthetic import write_synthetic

    info = write_synthetic("casme2", tmp_path, faces=face_names(), clips_per_subject=3, size=(160, 160),
                           motion="rig", identities=True, seed=5)
    assert info.clips == 12
    assert sorted({r["face"] for r in info.rows}) == sorted(face_names())
    by_subject = {}
    for r in info.rows:
        by_subject.setdefault(r["subject"], set()).add(r["face"])
    assert all(len(f) == 1 for f in by_subject.values()) and len(by_subject) == 4  # one face per subject
    ds = load_dataset("casme2", tmp_path, "megc3")
    assert len(ds.samples) == 12 and len(ds.subjects) == 4
    assert sorted({s.label for s in ds.samples}) == [0, 1, 2]
