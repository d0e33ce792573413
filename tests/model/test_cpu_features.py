"""Kernels and precision follow the CPU's real instruction sets, and the caps set on them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tsfgui.model.cpu_features import ISA_CAP_ENV, CpuFeatures, cpu_features

ROOT = Path(__file__).resolve().parents[2]

SKYLAKE = CpuFeatures(name="AVX-512 without BF16", has_avx2=True, has_fma=True, has_avx512=True,
                      has_avx512_vnni=False, has_avx512_bf16=False, has_amx=False, aten_capability="AVX512",
                      onednn_cap="", mkl_cap="")
ZEN3 = replace(SKYLAKE, name="AVX2 only", has_avx512=False, aten_capability="AVX2")
COOPER = replace(SKYLAKE, name="AVX-512 with BF16", has_avx512_vnni=True, has_avx512_bf16=True)


def test_bfloat16_is_native_only_with_bf16_instructions_not_capped_off():
    assert not SKYLAKE.native_bf16  # oneDNN would emulate it there: slower than float32
    assert not ZEN3.native_bf16
    assert COOPER.native_bf16
    assert not replace(COOPER, onednn_cap="AVX2").native_bf16
    assert not replace(COOPER, onednn_cap="AVX512_CORE").native_bf16
    assert replace(COOPER, onednn_cap="AVX512_CORE_BF16").native_bf16
    assert not replace(COOPER, onednn_cap="NOT_AN_ISA").native_bf16


def test_the_isa_class_follows_the_kernels_not_the_chip():
    assert SKYLAKE.isa_class == "avx512"
    assert ZEN3.isa_class == "avx2"
    assert replace(SKYLAKE, aten_capability="AVX2").isa_class == "avx2"  # capped
    assert SKYLAKE.onednn_avx512 and not ZEN3.onednn_avx512
    assert not replace(SKYLAKE, onednn_cap="AVX2").onednn_avx512  # oneDNN capped: its AVX2 kernels are chosen
    assert "AVX-512" in SKYLAKE.describe() and "native bf16 no" in SKYLAKE.describe()


_PROBE = """
import json, torch
from tsfgui.model import ops
from tsfgui.model.cpu_features import cpu_features
f = cpu_features()
x = torch.zeros(2, 4, dtype=torch.bfloat16)
with torch.inference_mode():
    print(json.dumps({"isa": f.isa_class, "native_bf16": f.native_bf16, "ops_bf16": ops.native_bf16(),
                      "fused_bf16": ops._onednn_ok(x), "fused_fp32": ops._onednn_ok(x.float()),
                      "has_avx512": f.has_avx512, "fuse_gelu": ops._FUSE_LINEAR_GELU, "has_bf16": f.has_avx512_bf16 or f.has_amx,
                      "describe": f.describe()}))
"""


def _probe(env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ISA_CAP_ENV["avx2"]}
    full = {**clean, **env, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _PROBE], env=full, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_capping_the_instruction_set_to_avx2_turns_off_avx512_and_bfloat16_kernels():
    here = cpu_features()
    if not here.has_avx2:
        pytest.skip("this CPU has no AVX2")
    native = _probe({})
    capped = _probe(ISA_CAP_ENV["avx2"])
    assert native["isa"] == ("avx512" if here.has_avx512 else "avx2")
    assert native["ops_bf16"] == native["native_bf16"] == native["fused_bf16"] == native["has_bf16"]
    assert capped["isa"] == "avx2" and "capped" in capped["describe"]
    assert capped["native_bf16"] is False and capped["ops_bf16"] is False and capped["fused_bf16"] is False
    assert capped["fused_fp32"] is True  # float32 keeps the fused oneDNN kernels: faster on AVX2 too
    assert native["fuse_gelu"] is here.has_avx512 and capped["fuse_gelu"] is False
