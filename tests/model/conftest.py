"""Fixtures for the model tests: small configurations (fast) and seeded inputs."""

from __future__ import annotations

import pytest
import torch

from tsfgui.model import TSFmicro, TSFmicroConfig


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def tiny_config() -> TSFmicroConfig:
    return TSFmicroConfig.tiny()


@pytest.fixture
def tiny_model(tiny_config) -> TSFmicro:
    return TSFmicro(tiny_config).eval()


def pair(batch: int, size: int, seed: int = 1, motion: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    """A normalised onset batch and an apex batch that differs from it by ``motion``·noise."""
    g = torch.Generator().manual_seed(seed)
    onset = torch.randn(batch, 3, size, size, generator=g)
    apex = onset + motion * torch.randn(batch, 3, size, size, generator=g)
    return onset, apex


@pytest.fixture
def make_pair():
    return pair
