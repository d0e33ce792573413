"""Where a forward pass's time goes (tsfgui.model.op_budget): the counting and classing, and the bench option."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tsfgui.model import TSFmicro, count_flops, fast_kernels
from tsfgui.model.op_budget import (
    ATTN_PRODUCTS, ATTN_REST, DENSE_CONV, DEPTHWISE, ELEMENTWISE, FRAMEWORK, LINEAR, Budget, OpClass,
    measure_budget, op_class,
)

from .conftest import pair

TSFGUI = str(Path(sys.executable).with_name("tsfgui"))


def _forward(model: TSFmicro, batch: int, fast: bool):
    size = model.config.img_size
    onset, apex = pair(batch, size)

    def run():
        with torch.inference_mode(), fast_kernels(fast):
            return model(onset, apex)
    return run


@pytest.mark.parametrize("fast", [True, False])
def test_counted_flops_are_the_models_analytic_count(tiny_config, fast):
    model = TSFmicro(tiny_config).eval()
    if fast:
        model.fuse()
    budget = measure_budget(_forward(model, 2, fast), 2, rounds=1, mm_size=256)
    assert budget.gflop == pytest.approx(sum(count_flops(tiny_config).values()) / 1e9, rel=0.01)


def test_the_classes_split_the_pass_and_threads_come_back(tiny_model):
    threads = torch.get_num_threads()
    budget = measure_budget(_forward(tiny_model.fuse(), 1, True), 1, rounds=1, mm_size=256)
    assert torch.get_num_threads() == threads
    for name in (LINEAR, DENSE_CONV, ATTN_PRODUCTS, ATTN_REST, DEPTHWISE, ELEMENTWISE, FRAMEWORK):
        assert name in budget.classes and budget.classes[name].seconds >= 0
    assert budget.classes[DEPTHWISE].calls > 0 and budget.classes[ATTN_PRODUCTS].calls > 0
    assert budget.classes[ATTN_REST].gflop == 0 and budget.classes[ELEMENTWISE].gflop == 0
    assert 0 < budget.utilisation and 0 < budget.ceiling and 0 < budget.ceiling_torch_kernels


def test_operators_are_classed_by_what_they_compute():
    x = torch.randn(1, 8, 6, 6)
    assert op_class("aten.conv2d", (x, torch.randn(8, 1, 3, 3), None, [1, 1], [1, 1], [1, 1], 8)) == DEPTHWISE
    assert op_class("aten.conv2d", (x, torch.randn(4, 8, 3, 3), None, [1, 1], [1, 1], [1, 1], 1)) == DENSE_CONV
    assert op_class("mkldnn._linear_pointwise", (x,)) == LINEAR
    assert op_class("aten.scaled_dot_product_attention", (x, x, x)) == ATTN_PRODUCTS
    assert op_class("aten.gelu_", (x,)) == ELEMENTWISE


def test_ceilings_follow_their_definitions():
    # 10 GFLOP at 100 GFLOP/s = 0.1 s of products at the rate; 0.025 s of other work
    classes = {LINEAR: OpClass(LINEAR, 0.09, 8.0), ATTN_PRODUCTS: OpClass(ATTN_PRODUCTS, 0.04, 2.0),
               ATTN_REST: OpClass(ATTN_REST, 0.01), ELEMENTWISE: OpClass(ELEMENTWISE, 0.015)}
    budget = Budget(1, 100.0, 0.155, 10.0, classes)
    assert budget.utilisation == pytest.approx(10.0 / 0.155 / 100.0)
    assert budget.not_products_seconds == pytest.approx(0.025)
    assert budget.ceiling == pytest.approx(0.1 / 0.125)
    # linear at the rate (0.08 s), the attention's products as measured alone (0.04 s), the rest 0.025 s
    assert budget.ceiling_torch_kernels == pytest.approx(0.1 / 0.145)
    assert classes[LINEAR].excess(100.0) == pytest.approx(0.01)


def test_bench_model_prints_the_budget():
    out = subprocess.run([TSFGUI, "bench", "model", "--quick", "--budget", "--no-plain", "--bf16", "off",
                          "--batches", "1"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "where one pair's time goes, batch 1" in out.stdout
    assert "ceiling with every matrix product at torch.mm's rate" in out.stdout
    assert "attention: mask, softmax, the rest" in out.stdout
