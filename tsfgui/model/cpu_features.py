"""What the CPU can do, as the model's kernels see it: instruction sets, and the caps set on them.

Kernel choices in :mod:`tsfgui.model.ops` and the precision offered by the benchmarks follow these
figures at run time, never a guess from the machine's name:

* the CPU's own flags (``/proc/cpuinfo`` on Linux; ``torch.backends.cpu.get_cpu_capability()``
  elsewhere) — AVX2, FMA, AVX-512, AVX-512-VNNI, AVX-512-BF16, AMX;
* the caps a user (or ``bench/model.py --isa avx2``) sets before torch is imported:
  ``ATEN_CPU_CAPABILITY`` (torch's own kernels), ``ONEDNN_MAX_CPU_ISA`` (oneDNN: convolutions, fused
  linear layers) and ``MKL_ENABLE_INSTRUCTIONS`` (MKL: ``torch.mm``/``F.linear``). A capped machine
  then chooses as a machine without the capped-off instructions would.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

__all__ = ["CpuFeatures", "cpu_features", "ISA_CAP_ENV", "run_capped"]

#: Environment that caps every CPU library torch uses to AVX2 (set before torch is imported).
ISA_CAP_ENV = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "MKL_ENABLE_INSTRUCTIONS": "AVX512"},
}

# oneDNN's ISA names in increasing order, and the first one that has native bfloat16 instructions
_ONEDNN_ORDER = ["SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI",
                 "AVX512_CORE_BF16", "AVX10_1_512", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX10_1_512_AMX",
                 "AVX512_CORE_AMX_FP16", "AVX10_1_512_AMX_FP16", "AVX10_2_512", "AVX10_2_512_AMX_2"]


def _flags() -> set[str]:
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.startswith("flags"):
                        return set(line.split(":", 1)[1].split())
        except OSError:
            pass
    return set()


def _model_name() -> str:
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.startswith("model name"):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
    return platform.processor() or platform.machine()


@dataclass(frozen=True)
class CpuFeatures:
    """The CPU's instruction sets (``has_*``: what the chip has) and what the kernels may use."""

    name: str
    has_avx2: bool
    has_fma: bool
    has_avx512: bool
    has_avx512_vnni: bool
    has_avx512_bf16: bool
    has_amx: bool
    #: torch's kernel level after ``ATEN_CPU_CAPABILITY`` (``DEFAULT``, ``AVX2``, ``AVX512`` …)
    aten_capability: str
    #: ``ONEDNN_MAX_CPU_ISA`` when set (oneDNN's cap), else ``""``
    onednn_cap: str
    #: ``MKL_ENABLE_INSTRUCTIONS`` when set, else ``""``
    mkl_cap: str

    @property
    def avx512_usable(self) -> bool:
        """AVX-512 present and not capped off for torch's kernels."""
        return self.has_avx512 and self.aten_capability.upper().startswith("AVX512")

    @property
    def native_bf16(self) -> bool:
        """bfloat16 matrix instructions (AVX-512-BF16 or AMX) present and not capped off for oneDNN.

        Without them oneDNN emulates bfloat16 (AVX-512) or converts every tensor (AVX2), which is
        slower than float32: bfloat16 is never chosen on such a CPU.
        """
        if not (self.has_avx512_bf16 or self.has_amx):
            return False
        cap = self.onednn_cap.upper()
        if cap in ("", "ALL", "DEFAULT"):
            return True
        if cap not in _ONEDNN_ORDER:
            return False
        return _ONEDNN_ORDER.index(cap) >= _ONEDNN_ORDER.index("AVX512_CORE_BF16")

    @property
    def onednn_avx512(self) -> bool:
        """AVX-512 present and not capped off for oneDNN (its linear layers and convolutions)."""
        if not self.has_avx512:
            return False
        cap = self.onednn_cap.upper()
        if cap in ("", "ALL", "DEFAULT"):
            return True
        return cap in _ONEDNN_ORDER and _ONEDNN_ORDER.index(cap) >= _ONEDNN_ORDER.index("AVX512_CORE")

    @property
    def isa_class(self) -> str:
        """``avx512`` or ``avx2`` (or ``other``): the class of kernels the model runs on here."""
        if self.avx512_usable:
            return "avx512"
        return "avx2" if self.has_avx2 else "other"

    def describe(self) -> str:
        """One line: the chip, its instruction sets, and any caps in force."""
        sets = [n for n, ok in (("AVX2", self.has_avx2), ("FMA", self.has_fma), ("AVX-512", self.has_avx512),
                                ("AVX-512-VNNI", self.has_avx512_vnni), ("AVX-512-BF16", self.has_avx512_bf16),
                                ("AMX", self.has_amx)) if ok]
        caps = [f"{k}={v}" for k, v in (("ATEN_CPU_CAPABILITY", os.environ.get("ATEN_CPU_CAPABILITY", "")),
                                        ("ONEDNN_MAX_CPU_ISA", self.onednn_cap),
                                        ("MKL_ENABLE_INSTRUCTIONS", self.mkl_cap)) if v]
        text = f"{self.name}: {', '.join(sets) or 'no AVX2'}; torch kernels {self.aten_capability}"
        text += f", native bf16 {'yes' if self.native_bf16 else 'no'}"
        if caps:
            text += f" (capped: {', '.join(caps)})"
        return text


@functools.lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    """The features of this machine's CPU and the caps in force (read once per process)."""
    flags = _flags()
    try:
        aten = torch.backends.cpu.get_cpu_capability()
    except (AttributeError, RuntimeError):
        aten = ""
    if not flags:  # not Linux: what torch's dispatcher found is what we know
        up = aten.upper()
        flags = {"avx2", "fma"} if up.startswith(("AVX2", "AVX512")) else set()
        if up.startswith("AVX512"):
            flags |= {"avx512f", "avx512bw", "avx512vl", "avx512dq"}
    return CpuFeatures(
        name=_model_name(),
        has_avx2="avx2" in flags,
        has_fma="fma" in flags,
        has_avx512={"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags,
        has_avx512_vnni="avx512_vnni" in flags,
        has_avx512_bf16="avx512_bf16" in flags,
        has_amx="amx_bf16" in flags and "amx_tile" in flags,
        aten_capability=aten,
        onednn_cap=os.environ.get("ONEDNN_MAX_CPU_ISA", ""),
        mkl_cap=os.environ.get("MKL_ENABLE_INSTRUCTIONS", ""),
    )


_CAP_MARK = "TSFGUI_ISA_CAP"


def run_capped(isa: str, script: str | os.PathLike, argv: Sequence[str]) -> int | None:
    """Run ``script argv`` in a child Python with the instruction-set caps of ``isa`` (``ISA_CAP_ENV``)
    and return its exit code; ``None`` when this process already runs under those caps.

    The caps take effect only before torch is imported, hence the child process. The repository
    root (two levels above ``script``) goes on ``PYTHONPATH`` so a source checkout runs as is.
    """
    want = ISA_CAP_ENV[isa]
    if os.environ.get(_CAP_MARK) == isa and all(os.environ.get(k) == v for k, v in want.items()):
        return None
    script = Path(script).resolve()
    env = {**os.environ, **want, _CAP_MARK: isa}
    root = str(script.parents[1])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.call([sys.executable, str(script), *argv], env=env)
