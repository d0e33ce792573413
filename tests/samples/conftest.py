"""Fixtures for the sample generator tests: small renderers, shared per session (planning is cheap,
frames are rendered on demand)."""

from __future__ import annotations

import pytest

from tsfgui.samples import Distractors, EventSpec, SampleRenderer

SMALL = (320, 240)


@pytest.fixture(scope="session")
def quiet_renderer() -> SampleRenderer:
    """No distractors at all; an AU12 event at 0.5 s and an AU1+AU2 event at 2.0 s."""
    return SampleRenderer(seed=5, duration_s=3.0, fps=30, size=SMALL,
                          events=[EventSpec("AU12", onset_s=0.5, amplitude=3.0),
                                  EventSpec("AU1+AU2", onset_s=2.0, amplitude=3.0)],
                          distractors=Distractors.none())


@pytest.fixture(scope="session")
def busy_renderer() -> SampleRenderer:
    """Every event type at the largest micro amplitude, with head motion, blinks and a talking segment."""
    from tsfgui.samples import EVENT_TYPES

    return SampleRenderer(seed=9, duration_s=30.0, fps=30, size=SMALL,
                          events=[EventSpec(name, amplitude=4.0) for name in EVENT_TYPES],
                          distractors=Distractors(blinks_per_min=8, talk_segments=1))
