"""The network learns: it can fit a tiny batch, with gradients through both branches."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tsfgui.model import TSFmicro, TSFmicroConfig


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = TSFmicro(TSFmicroConfig.tiny(label_scheme="casme3_4")).train()
    n = 8
    labels = torch.arange(n) % 4
    onset = torch.randn(n, 3, 32, 32)
    # each class moves a different quadrant of the face
    apex = onset.clone()
    for i, y in enumerate(labels.tolist()):
        r, c = divmod(y, 2)
        apex[i, :, 16 * r:16 * r + 16, 16 * c:16 * c + 16] += 1.5
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = F.cross_entropy(model(onset, apex), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0], losses
    # gradients reach both branches and the stem
    assert model.temporal.stem[0].conv.weight.grad.abs().sum() > 0
    assert model.spatial.pos_embed.grad.abs().sum() > 0
    model.eval()
    with torch.inference_mode():
        assert (model(onset, apex).argmax(1) == labels).all()
