"""Explanations land where they should: on the crop, and through the alignment matrix on the frame."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tsfgui.model import TSFmicro, TSFmicroConfig
from tsfgui.face import heatmap_to_frame
from tsfgui.model.explain import (
    HEATMAP_KINDS, attention_received, attention_rollout, explain, grad_cam, overlay_heatmap, upsample_heatmap,
)

CROP = 224
FRAME_SHAPE = (480, 640, 3)


def crop_to_frame(scale=1.4, angle_deg=12.0, tx=150.0, ty=60.0) -> np.ndarray:
    """A synthetic 2×3 similarity crop→frame matrix (what the face alignment returns as ``inverse``)."""
    a = math.radians(angle_deg)
    c, s = scale * math.cos(a), scale * math.sin(a)
    return np.array([[c, -s, tx], [s, c, ty]])


def cell_in_frame(row: int, col: int, n: int, inverse: np.ndarray) -> np.ndarray:
    """Frame position of the centre of cell (row, col) of an n×n map over the crop."""
    x = (col + 0.5) * CROP / n - 0.5
    y = (row + 0.5) * CROP / n - 0.5
    return inverse @ np.array([x, y, 1.0])


def peak(img: np.ndarray) -> np.ndarray:
    y, x = np.unravel_index(np.argmax(img), img.shape)
    return np.array([x, y], dtype=float)


def test_a_hot_cell_lands_at_its_place_on_the_frame():
    inverse = crop_to_frame()
    heat = np.zeros((14, 14), np.float32)
    heat[3, 10] = 1.0
    on_frame = heatmap_to_frame(heat, inverse, FRAME_SHAPE, crop_size=CROP)
    assert on_frame.shape == FRAME_SHAPE[:2] and on_frame.dtype == np.float32
    assert np.linalg.norm(peak(on_frame) - cell_in_frame(3, 10, 14, inverse)) <= 2.0
    # outside the warped crop the frame gets the fill value
    corners = [inverse @ np.array([x, y, 1.0]) for x, y in ((0, 0), (CROP, 0), (0, CROP), (CROP, CROP))]
    assert max(p[0] for p in corners) < 640 and on_frame[470, 5] == 0.0
    # a full-resolution map goes through the same way
    up = upsample_heatmap(heat, CROP)
    assert up.shape == (CROP, CROP)
    assert np.all(np.abs(peak(up) - [(10 + 0.5) * 16 - 0.5, (3 + 0.5) * 16 - 0.5]) <= 1.0)
    on_frame2 = heatmap_to_frame(up, inverse, FRAME_SHAPE)
    assert np.linalg.norm(peak(on_frame2) - cell_in_frame(3, 10, 14, inverse)) <= 2.0


def test_attention_maps_point_at_the_attended_token_and_onto_the_frame():
    n, side, target = 196, 14, (5, 2)
    j = target[0] * side + target[1]
    attn = torch.full((1, 4, n, n), 0.2 / (n - 1))
    attn[..., j] = 0.8  # every query (every head) attends mostly to token j
    received = attention_received(attn)
    assert received.shape == (1, 14, 14) and received.max() == 1.0 and received.min() == 0.0
    assert np.unravel_index(received[0].argmax(), (14, 14)) == target
    rolled = attention_rollout([attn, attn])
    assert np.unravel_index(rolled[0].argmax(), (14, 14)) == target
    inverse = crop_to_frame(scale=1.2, angle_deg=-20.0, tx=250.0, ty=140.0)
    on_frame = heatmap_to_frame(rolled[0], inverse, FRAME_SHAPE, crop_size=CROP)
    assert np.linalg.norm(peak(on_frame) - cell_in_frame(*target, 14, inverse)) <= 2.0


def test_attention_from_the_real_model(make_pair):
    model = TSFmicro(TSFmicroConfig.tiny(img_size=64)).eval()
    onset, apex = make_pair(2, 64)
    with torch.inference_mode():
        out = model.forward_intermediates(onset, apex)
    maps = attention_received(out.spatial_attention[-1])
    rolled = attention_rollout(out.spatial_attention)
    one_head = attention_received(out.spatial_attention[0], head=1)
    for m in (maps, rolled, one_head):
        assert m.shape == (2, 4, 4) and np.isfinite(m).all() and m.min() >= 0 and m.max() <= 1


def _evidence_head(model: TSFmicro) -> None:
    """Make class 0's logit grow with the fused activations (identity-like head), so Grad-CAM has a known answer."""
    head = model.head
    dim, hidden = head.proj.in_features, head.proj.out_features
    with torch.no_grad():
        head.proj.weight.zero_()
        head.proj.weight[:dim, :dim] = torch.eye(dim)
        head.proj.bias.zero_()
        head.norm.reset_running_stats()
        head.norm.weight.fill_(1.0)
        head.norm.bias.zero_()
        head.fc.weight.zero_()
        head.fc.weight[0, :dim] = 1.0
        head.fc.weight[1, :dim] = -1.0
        head.fc.bias.zero_()


def test_grad_cam_finds_the_evidence_and_maps_it_onto_the_frame():
    model = TSFmicro(TSFmicroConfig.tiny(img_size=112)).eval()  # 7×7 fused map
    _evidence_head(model)
    fused = torch.zeros(1, 32, 7, 7)
    fused[0, :, 2, 5] = 2.0  # all the evidence at cell (2, 5)
    cam = grad_cam(model, None, None, features=fused)
    assert cam.classes == [0] and cam.probabilities[0, 0] > cam.probabilities[0, 1]
    assert cam.heatmaps.shape == (1, 7, 7) and cam.heatmaps.max() == 1.0
    assert np.unravel_index(cam.heatmaps[0].argmax(), (7, 7)) == (2, 5)
    assert cam.heatmaps[0].sum() == pytest.approx(1.0)  # nothing elsewhere
    # class 1 has only counter-evidence there: its map is empty
    assert grad_cam(model, None, None, features=fused, target="positive").heatmaps.max() == 0.0
    inverse = crop_to_frame(scale=2.0, angle_deg=30.0, tx=300.0, ty=20.0)
    on_frame = heatmap_to_frame(cam.heatmaps[0], inverse, FRAME_SHAPE, crop_size=CROP)
    assert np.linalg.norm(peak(on_frame) - cell_in_frame(2, 5, 7, inverse)) <= 3.0


def test_grad_cam_through_the_full_forward(tiny_model, make_pair):
    onset, apex = make_pair(3, 32)
    with torch.inference_mode():  # works inside inference mode too
        cam = grad_cam(tiny_model, onset, apex)
        logits = tiny_model(onset, apex)
        chosen = grad_cam(tiny_model, onset, apex, target=[0, "surprise", 1])
    assert cam.classes == logits.argmax(1).tolist()
    assert chosen.classes == [0, 2, 1] and chosen.heatmaps.shape == (3, 2, 2)
    assert np.isfinite(cam.heatmaps).all() and cam.heatmaps.min() >= 0 and cam.heatmaps.max() <= 1
    np.testing.assert_allclose(cam.probabilities, torch.softmax(logits, 1).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="unknown class 'joy'"):
        grad_cam(tiny_model, onset, apex, target="joy")


def test_overlay_keeps_frame_where_there_is_no_heat():
    frame = np.full((60, 80, 3), 90, np.uint8)
    heat = np.zeros((60, 80), np.float32)
    heat[10:20, 10:20] = 1.0
    out = overlay_heatmap(frame, heat)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.array_equal(out[40:, 40:], frame[40:, 40:]) and not np.array_equal(out[12, 12], frame[12, 12])


def test_explain_gives_every_kind_for_a_batch_and_refuses_unknown_kinds(tiny_model, make_pair):
    onset, apex = make_pair(2, tiny_model.config.img_size)
    with torch.inference_mode():
        maps = explain(tiny_model.eval(), onset, apex, (*HEATMAP_KINDS, "layers"))
        one = explain(tiny_model, onset[:1], apex[:1], ("gradcam",))
    assert set(HEATMAP_KINDS) <= set(maps) and "layer 1 head 1" in maps
    assert all(m.shape[0] == 2 and 0.0 <= m.min() <= m.max() <= 1.0 for m in maps.values())
    np.testing.assert_allclose(one["gradcam"][0], maps["gradcam"][0], atol=1e-5)
    with pytest.raises(ValueError, match="unknown heatmap kind"):
        explain(tiny_model, onset, apex, ("saliency",))
