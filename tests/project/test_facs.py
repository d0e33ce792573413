"""FACS action-unit codes are checked and written one way."""

from __future__ import annotations

import pytest

from tsfgui.project import FacsError, normalize_aus, parse_aus


@pytest.mark.parametrize("text, canonical", [
    ("1+2+5B", "1+2+5B"), ("AU6 + AU12", "6+12"), ("l12c", "L12C"), ("4+7", "4+7"), ("R14", "R14"),
    ("", ""), (None, ""), ("AUL10", "L10"), ("12E", "12E"), ("51+61", "51+61"),
])
def test_valid_codes_are_normalised(text, canonical):
    assert normalize_aus(text) == canonical


@pytest.mark.parametrize("text, says", [
    ("3", "AU 3 is not a FACS code"), ("40", "AU 40"), ("12F", "'12F' is not an action unit"),
    ("1++2", "empty action unit"), ("1+1B", "coded twice"), ("smile", "not an action unit"), ("100", "not an"),
])
def test_invalid_codes_are_refused_naming_the_bad_part(text, says):
    with pytest.raises(FacsError, match=says):
        parse_aus(text)


def test_parts_are_kept():
    units = parse_aus("L1+5B")
    assert [(u.number, u.side, u.intensity) for u in units] == [(1, "L", ""), (5, "", "B")]
