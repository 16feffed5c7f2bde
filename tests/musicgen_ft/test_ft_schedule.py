"""Learning-rate schedule and device/precision choice (the parts of the loop that a tiny CPU
run does not reach on its own)."""

import math

import pytest
import torch

from musicgen_ft.config import TrainConfig
from musicgen_ft.loop import pick_device_precision, warmup_cosine


def test_warmup_then_cosine_to_zero():
    f = warmup_cosine(500, 10_000)
    assert f(0) == pytest.approx(1 / 500)               # the first step already moves
    assert f(249) == pytest.approx(0.5)
    assert f(499) == pytest.approx(1.0) and f(500) == pytest.approx(1.0)
    assert f(500 + 9500 // 2) == pytest.approx(0.5)
    assert f(10_000) == pytest.approx(0.0, abs=1e-12)
    values = [f(s) for s in range(500, 10_000, 100)]
    assert all(a >= b for a, b in zip(values, values[1:]))   # monotone decay


def test_no_warmup():
    f = warmup_cosine(0, 100)
    assert f(0) == 1.0 and f(50) == pytest.approx(0.5) and math.isclose(f(100), 0.0, abs_tol=1e-12)


def test_scheduler_drives_adamw_lr():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=1e-5)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(500, 10_000))
    lrs = []
    for _ in range(600):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(2e-8) and lrs[499] == pytest.approx(1e-5)


def test_cpu_always_trains_in_fp32():
    assert pick_device_precision(TrainConfig(device="cpu", precision="auto")) == ("cpu", "fp32")
    assert pick_device_precision(TrainConfig(device="cpu", precision="fp16")) == ("cpu", "fp32")
    if not torch.cuda.is_available():
        assert pick_device_precision(TrainConfig(device="auto")) == ("cpu", "fp32")
