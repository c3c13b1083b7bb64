"""The number format a build encodes passages in: bf16 where the processor computes it natively, fp16 on
a CUDA GPU, fp32 elsewhere or when asked.

Encoding under ``torch.autocast`` keeps the weights in fp32 and runs the matrix products in the lower
precision; the vectors come back as normalised float32. On this project's 2-core Xeon (AVX512-BF16) bf16
encoded passages 1.8× faster than fp32 with MiniLM, with a cosine of at least 0.9999 to the fp32 vectors
(docs/measurements.md, "Fast builds"); casting the whole model to bf16 instead drops it to 0.998.
Questions stay in fp32: one short text gains nothing from bf16 and ran slower in it. The OpenVINO engine
(openvino_engine.py) makes the same choice and passes it as its inference precision.
"""

from __future__ import annotations

import contextlib
import functools
import platform
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import BadArgument

CHOICES = ("auto", "fp32", "bf16", "fp16")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo names of native bf16 matrix arithmetic


@dataclass(frozen=True)
class Precision:
    """What passages are encoded in (``fp32``, ``bf16`` or ``fp16``) and why, as the manifest records it."""

    name: str
    reason: str

    def describe(self) -> dict[str, str]:
        return {"precision": self.name, "precision_reason": self.reason}


def choose_precision(setting: str, device: str) -> Precision:
    """The precision for ``setting`` (one of CHOICES) on ``device`` (a torch device type: "cpu", "cuda"…).
    ``auto``: fp16 on CUDA, bf16 on a CPU with native bf16 arithmetic, otherwise fp32."""
    if setting not in CHOICES:
        raise BadArgument(f"Unknown precision '{setting}'; choose one of {', '.join(CHOICES)}.")
    if setting == "fp32":
        return Precision("fp32", "asked for")
    if setting == "fp16" and device != "cuda":
        raise BadArgument("fp16 encoding needs a CUDA GPU; on a CPU use bf16 or fp32.")
    if setting != "auto":
        return Precision(setting, "asked for")
    if device == "cuda":
        return Precision("fp16", "CUDA GPU")
    if device == "cpu" and (flags := native_bf16_flags()):
        return Precision("bf16", f"the CPU has {' and '.join(flags).upper()}")
    return Precision("fp32", "no native bf16 on this processor" if device == "cpu" else f"{device} device")


@functools.cache
def native_bf16_flags() -> tuple[str, ...]:
    """The bf16 flags of this CPU (Linux only: elsewhere none, and the build stays in fp32)."""
    if platform.system() != "Linux":
        return ()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return tuple(f for f in BF16_CPU_FLAGS if f in flags)


@contextlib.contextmanager
def encoding_in(precision: Precision, device: str) -> Iterator[None]:
    """Run the model's forward passes in ``precision`` (nothing to do for fp32)."""
    if precision.name == "fp32":
        yield
        return
    import torch

    dtype = torch.bfloat16 if precision.name == "bf16" else torch.float16
    with torch.autocast(device, dtype=dtype):
        yield
