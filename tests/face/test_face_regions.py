"""Region index sets and masks in aligned-crop coordinates."""

from __future__ import annotations

import numpy as np
import pytest

from tsfgui.face import MEASURED_REGIONS, REGIONS, AlignTemplate, region_masks, region_means


def test_region_index_sets():
    assert REGIONS["brows"] == tuple(range(17, 27))
    assert REGIONS["eyes"] == tuple(range(36, 48))
    assert REGIONS["nose"] == tuple(range(27, 36))
    assert REGIONS["mouth"] == tuple(range(48, 68))
    assert REGIONS["jaw"] == tuple(range(0, 17))
    assert sorted(i for r in REGIONS.values() for i in r) == list(range(68))
    assert MEASURED_REGIONS == ("brows", "eyes", "nose", "mouth")


def test_masks_on_the_template_are_in_anatomical_order():
    lm = AlignTemplate().landmarks()
    masks = region_masks(lm, 224)
    assert set(masks) == set(MEASURED_REGIONS)
    centre_y = {}
    for name, m in masks.items():
        assert m.shape == (224, 224) and m.dtype == bool and 100 < m.sum() < 0.15 * 224 * 224
        centre_y[name] = np.nonzero(m)[0].mean()
    assert centre_y["brows"] < centre_y["eyes"] < centre_y["nose"] < centre_y["mouth"]
    assert not (masks["brows"] & masks["mouth"]).any()
    # each mask holds its landmarks
    for name in MEASURED_REGIONS:
        for x, y in lm[list(REGIONS[name])]:
            assert masks[name][int(round(y)), int(round(x))]
    jaw = region_masks(lm, (224, 224), regions=("jaw",))["jaw"]
    assert jaw[int(round(lm[8, 1])), int(round(lm[8, 0]))] and not jaw[112, 112]


def test_margin_grows_masks_and_unknown_regions_fail():
    lm = AlignTemplate().landmarks()
    bare = region_masks(lm, 224, margin=0.0)
    grown = region_masks(lm, 224, margin=0.2)
    for name in MEASURED_REGIONS:
        assert grown[name].sum() > bare[name].sum() and (grown[name] | bare[name]).sum() == grown[name].sum()
    with pytest.raises(KeyError, match="cheeks"):
        region_masks(lm, 224, regions=("cheeks",))


def test_region_means():
    lm = AlignTemplate().landmarks()
    masks = region_masks(lm, 224)
    values = np.zeros((224, 224, 3), np.float32)
    values[masks["mouth"]] = 9.0
    means = region_means(values, masks)
    assert means["mouth"] == pytest.approx(9.0) and means["brows"] == 0.0


def test_masks_at_the_crop_edge_grow_as_a_whole_image_dilation_would():
    """Masks are dilated only around what is drawn; at the crop's edge that must still equal
    dilating the whole image."""
    import cv2

    lm = AlignTemplate().landmarks() + np.array([-60.0, 70.0])  # mouth and jaw half outside the crop
    for name, mask in region_masks(lm, 224, margin=0.2).items():
        bare = region_masks(lm, 224, regions=(name,), margin=0.0)[name].astype(np.uint8)
        radius = int(round(0.2 * 56.0))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        assert (mask == cv2.dilate(bare, kernel).astype(bool)).all(), name
