"""FACS action-unit codes as coders write them: ``1+2+5B``, ``L12C``, ``4+7``, ``AU6 + AU12``.

A code is AU numbers joined by ``+``; each may carry a side prefix (``L``/``R``, unilateral; ``U`` for
unspecified unilateral, as CASME and SAMM sheets write it) and an intensity suffix ``A``–``E`` (trace to
maximum, FACS 2002). Numbers must be codes of the FACS manual: the action units 1–46 (there is no AU 3
or 40), 50 (speech), head 51–58, eyes 61–66 and 69, visibility 70–74, gross behaviour 80–85 and 91–98.
:func:`normalize_aus` returns the canonical form (``AU`` prefixes and spaces dropped, upper case, in
the order written) or raises :class:`FacsError` naming the bad part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Codes defined by the FACS manual (Ekman, Friesen & Hager 2002).
FACS_CODES: frozenset[int] = frozenset(
    [n for n in range(1, 47) if n not in (3, 40)] + [50] + list(range(51, 59)) + list(range(61, 67)) + [69]
    + list(range(70, 75)) + [80, 81, 82, 84, 85, 91, 92, 97, 98])

_TERM = re.compile(r"^(?P<side>[LRU]?)(?:AU)?(?P<number>\d{1,2})(?P<intensity>[A-E]?)$")


class FacsError(ValueError):
    """An action-unit code that is not valid FACS; the message names the bad part."""


@dataclass(frozen=True)
class ActionUnit:
    """One coded action unit: its number, side (``""``, ``L``, ``R``, ``U``) and intensity (``""``, ``A``–``E``)."""

    number: int
    side: str = ""
    intensity: str = ""

    def __str__(self) -> str:
        return f"{self.side}{self.number}{self.intensity}"


def parse_aus(text: str | None) -> list[ActionUnit]:
    """The action units of ``text`` (empty for an empty code); :class:`FacsError` for anything else."""
    if text is None:
        return []
    raw = str(text).strip().upper().replace(" ", "")
    if raw in ("", "-", "NONE"):
        return []
    units: list[ActionUnit] = []
    for term in re.split(r"[+,;]", raw):
        if not term:
            raise FacsError(f"'{text}': empty action unit between '+' signs (write e.g. 1+2+5B)")
        if term.startswith("AU") and len(term) > 2 and term[2] in "LR":  # AUL12 → L12
            term = term[2] + term[3:]
        m = _TERM.match(term)
        if m is None:
            raise FacsError(f"'{text}': '{term}' is not an action unit (write a number with optional side L/R "
                            f"and intensity A-E, e.g. 1+2+5B or L12C)")
        number = int(m["number"])
        if number not in FACS_CODES:
            raise FacsError(f"'{text}': AU {number} is not a FACS code")
        units.append(ActionUnit(number, m["side"], m["intensity"]))
    seen: set[tuple[int, str]] = set()
    for u in units:
        if (u.number, u.side) in seen:
            raise FacsError(f"'{text}': AU {u.side}{u.number} is coded twice")
        seen.add((u.number, u.side))
    return units


def normalize_aus(text: str | None) -> str:
    """The canonical code of ``text`` (``"AU1 + AU2+5b"`` → ``"1+2+5B"``); ``""`` for none."""
    return "+".join(str(u) for u in parse_aus(text))
