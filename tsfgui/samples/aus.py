"""Facial action units as landmark displacement patterns, and the table of event types.

Each action unit (AU, from FACS) is written as a sparse pattern over dlib's 68 landmarks (0-based iBUG
indices). A pattern entry ``index: (out, up)`` moves that landmark ``out`` units away from the face's
vertical midline (towards it when negative) and ``up`` units towards the forehead (down when negative),
in the face's own frame (the eye line gives "horizontal"). Units are relative: an event's patterns are
summed and then scaled so that the largest pixel displacement of the resulting dense field equals the
event's amplitude.

Event types are AU combinations, each mapped to one class of the 3-class MEGC scheme
(negative / positive / surprise), like the composite CASME II + SAMM + SMIC protocol does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASSES: tuple[str, ...] = ("negative", "positive", "surprise")
"""The 3-class MEGC scheme, in the order used for class indices."""

N_LANDMARKS = 68

# Landmarks on the image-left half of the face (the subject's right), on the midline, and (the rest) on
# the image-right half. Used to turn "out"/"in" into a direction per landmark.
_LEFT = frozenset([*range(0, 8), *range(17, 22), 31, 32, *range(36, 42), 48, 49, 50, 58, 59, 60, 61, 67])
_MIDLINE = frozenset([8, 27, 28, 29, 30, 33, 51, 57, 62, 66])

#: +1 for landmarks on the image-right half, -1 on the image-left half, 0 on the midline.
SIDE = np.array([0 if i in _MIDLINE else (-1 if i in _LEFT else 1) for i in range(N_LANDMARKS)], np.float64)


Pattern = dict[int, tuple[float, float]]


def _mirror(entries: dict[tuple[int, int], tuple[float, float]]) -> Pattern:
    """Expand ``{(left, right): (out, up)}`` pairs (use the same index twice for a midline point)."""
    pattern: Pattern = {}
    for pair, value in entries.items():
        for index in set(pair):
            pattern[index] = value
    return pattern


AU_PATTERNS: dict[int, Pattern] = {
    # AU1 inner brow raiser: inner brow ends up, a little towards each other.
    1: _mirror({(21, 22): (-0.1, 1.0), (20, 23): (0.0, 0.7), (19, 24): (0.0, 0.4), (18, 25): (0.0, 0.15)}),
    # AU2 outer brow raiser: outer brow ends up.
    2: _mirror({(17, 26): (0.1, 0.8), (18, 25): (0.05, 1.0), (19, 24): (0.0, 0.7), (20, 23): (0.0, 0.35)}),
    # AU4 brow lowerer: brows down and together, most at the inner ends.
    4: _mirror({(21, 22): (-0.8, -0.6), (20, 23): (-0.5, -0.7), (19, 24): (-0.25, -0.6),
                (18, 25): (-0.1, -0.4), (17, 26): (0.0, -0.2)}),
    # AU5 upper lid raiser.
    5: _mirror({(37, 44): (0.0, 0.6), (38, 43): (0.0, 0.6)}),
    # AU6 cheek raiser: lower lids and cheeks up.
    6: _mirror({(40, 47): (0.0, 0.5), (41, 46): (0.0, 0.5), (36, 45): (0.0, 0.25),
                (1, 15): (0.0, 0.4), (2, 14): (0.0, 0.5), (3, 13): (0.0, 0.3)}),
    # AU7 lid tightener: lower lids up, upper lids slightly down.
    7: _mirror({(40, 47): (0.0, 0.6), (41, 46): (0.0, 0.6), (37, 44): (0.0, -0.2), (38, 43): (0.0, -0.2)}),
    # AU9 nose wrinkler: nostrils and upper lip up, inner brows slightly down.
    9: _mirror({(31, 35): (0.1, 1.0), (32, 34): (0.0, 0.9), (33, 33): (0.0, 0.8), (30, 30): (0.0, 0.5),
                (29, 29): (0.0, 0.3), (50, 52): (0.0, 0.35), (51, 51): (0.0, 0.35), (21, 22): (0.0, -0.3)}),
    # AU10 upper lip raiser.
    10: _mirror({(50, 52): (0.0, 1.0), (51, 51): (0.0, 0.9), (49, 53): (0.0, 0.6), (61, 63): (0.0, 0.8),
                 (62, 62): (0.0, 0.7), (31, 35): (0.0, 0.3)}),
    # AU12 lip corner puller: corners up and out.
    12: _mirror({(48, 54): (0.7, 0.7), (60, 64): (0.6, 0.6), (49, 53): (0.3, 0.35), (59, 55): (0.3, 0.3),
                 (61, 63): (0.1, 0.15), (67, 65): (0.1, 0.15)}),
    # AU14 dimpler: corners tightened and drawn back (sideways in a frontal view), lips thinned.
    14: _mirror({(48, 54): (0.6, 0.15), (60, 64): (0.5, 0.1), (49, 53): (0.2, -0.1), (59, 55): (0.2, 0.1),
                 (51, 51): (0.0, -0.15), (57, 57): (0.0, 0.15)}),
    # AU15 lip corner depressor: corners down.
    15: _mirror({(48, 54): (0.15, -1.0), (60, 64): (0.1, -0.8), (59, 55): (0.05, -0.45), (49, 53): (0.0, -0.3),
                 (58, 56): (0.0, -0.15)}),
    # AU17 chin raiser: chin boss and lower lip pushed up.
    17: _mirror({(8, 8): (0.0, 0.8), (7, 9): (0.0, 0.6), (6, 10): (0.0, 0.3), (57, 57): (0.0, 1.0),
                 (58, 56): (0.0, 0.85), (66, 66): (0.0, 0.6), (67, 65): (0.0, 0.5), (59, 55): (0.0, 0.5)}),
    # AU20 lip stretcher: corners pulled sideways, slightly down.
    20: _mirror({(48, 54): (1.0, -0.2), (60, 64): (0.8, -0.15), (49, 53): (0.4, 0.0), (59, 55): (0.4, -0.1)}),
    # AU23 lip tightener: lips narrowed and thinned.
    23: _mirror({(48, 54): (-0.4, 0.0), (60, 64): (-0.3, 0.0), (50, 52): (0.0, -0.3), (51, 51): (0.0, -0.3),
                 (58, 56): (0.0, 0.3), (57, 57): (0.0, 0.3)}),
    # AU24 lip pressor: lips pressed together.
    24: _mirror({(61, 63): (0.0, -0.6), (62, 62): (0.0, -0.6), (67, 65): (0.0, 0.6), (66, 66): (0.0, 0.6),
                 (50, 52): (0.0, -0.4), (51, 51): (0.0, -0.4), (58, 56): (0.0, 0.4), (57, 57): (0.0, 0.4)}),
    # AU26 jaw drop (used for talking-like motion, not for micro events).
    26: _mirror({(4, 12): (0.0, -0.2), (5, 11): (0.0, -0.4), (6, 10): (0.0, -0.6), (7, 9): (0.0, -0.8),
                 (8, 8): (0.0, -1.0), (58, 56): (0.0, -1.0), (57, 57): (0.0, -1.0), (67, 65): (0.0, -1.0),
                 (66, 66): (0.0, -1.0), (59, 55): (0.0, -0.8), (48, 54): (-0.15, -0.4), (60, 64): (-0.1, -0.45)}),
    # AU18 lip pucker (rounding while talking): corners towards the midline.
    18: _mirror({(48, 54): (-1.0, 0.0), (60, 64): (-0.8, 0.0), (49, 53): (-0.4, 0.0), (59, 55): (-0.4, 0.0)}),
}


@dataclass(frozen=True)
class EventType:
    """One kind of micro-expression event: a combination of AUs with its MEGC class."""

    name: str
    aus: tuple[int, ...]
    label: str
    regions: tuple[str, ...]

    @property
    def class_index(self) -> int:
        return CLASSES.index(self.label)


def _event(aus: tuple[int, ...], label: str, regions: tuple[str, ...]) -> EventType:
    return EventType("+".join(f"AU{a}" for a in aus), aus, label, regions)


#: Micro event types by name ("AU1+AU2", "AU12", ...), each with its class in the 3-class scheme.
EVENT_TYPES: dict[str, EventType] = {
    e.name: e
    for e in (
        _event((1, 2), "surprise", ("brows",)),
        _event((1, 2, 5), "surprise", ("brows", "eyes")),
        _event((12,), "positive", ("mouth",)),
        _event((6, 12), "positive", ("mouth", "eyes")),
        _event((4,), "negative", ("brows",)),
        _event((4, 7), "negative", ("brows", "eyes")),
        _event((9,), "negative", ("nose", "mouth")),
        _event((10,), "negative", ("mouth",)),
        _event((14,), "negative", ("mouth",)),
        _event((15,), "negative", ("mouth",)),
        _event((15, 17), "negative", ("mouth", "jaw")),
        _event((17,), "negative", ("mouth", "jaw")),
        _event((20,), "negative", ("mouth",)),
        _event((23, 24), "negative", ("mouth",)),
    )
}


def event_type(name: str) -> EventType:
    """Look an event type up by name; the error lists the known names."""
    key = name.strip().upper().replace(" ", "")
    if key not in EVENT_TYPES:
        raise ValueError(f"Unknown micro event type '{name}'. Known types: {', '.join(EVENT_TYPES)}")
    return EVENT_TYPES[key]


def face_axes(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors of the face frame: ``u`` along the eye line (image left → right), ``down``."""
    pts = np.asarray(landmarks, np.float64)
    u = pts[42:48].mean(0) - pts[36:42].mean(0)
    u /= np.linalg.norm(u)
    down = np.array([-u[1], u[0]])
    return u, down


def face_size(landmarks: np.ndarray) -> float:
    """Face width in pixels: the distance between the jaw ends (landmarks 0 and 16)."""
    pts = np.asarray(landmarks, np.float64)
    return float(np.linalg.norm(pts[16] - pts[0]))


def pattern_displacements(pattern: Pattern, landmarks: np.ndarray) -> np.ndarray:
    """(68, 2) image-space displacements of a relative pattern for a face with these landmarks."""
    u, down = face_axes(landmarks)
    disp = np.zeros((N_LANDMARKS, 2))
    for index, (out, up) in pattern.items():
        disp[index] = out * SIDE[index] * u - up * down
    return disp


def combined_pattern(aus: tuple[int, ...] | list[int]) -> Pattern:
    """Sum of the AU patterns (landmarks shared by several AUs add up)."""
    total: dict[int, tuple[float, float]] = {}
    for au in aus:
        if au not in AU_PATTERNS:
            raise ValueError(f"No displacement pattern for AU{au}; known: {sorted(AU_PATTERNS)}")
        for index, (out, up) in AU_PATTERNS[au].items():
            o, u = total.get(index, (0.0, 0.0))
            total[index] = (o + out, u + up)
    return total
