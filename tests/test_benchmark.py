"""The benchmark's parts (ign_lessons.studies.benchmark): its flop count is exact, its cases run."""
import time

import torch

from ign_lessons.studies import benchmark


def test_flops_of_a_linear_training_step_are_counted_exactly():
    batch, inputs, outputs = 64, 30, 20
    layer, x = torch.nn.Linear(inputs, outputs), torch.randn(batch, inputs)
    # forward 2*B*I*O; backward 2*B*I*O for the weights' gradient, and as much again for x's if x needs one
    assert benchmark.flops(lambda: layer(x).sum().backward()) == 2 * batch * inputs * outputs * 2
    x.requires_grad_(True)
    assert benchmark.flops(lambda: layer(x).sum().backward()) == 2 * batch * inputs * outputs * 3


def test_every_form_and_model_step_runs_and_costs_something():
    for name, step in benchmark.forms(batch=16).items():
        assert benchmark.flops(step) > 0, name
    steps = benchmark.digit_steps(batch=16, width=16)
    assert benchmark.flops(steps["IGN"]) > benchmark.flops(steps["GAN"]) > 0  # IGN runs f 4 times per step
    seconds = benchmark._timed({"a": lambda: time.sleep(0.01)}, rounds=2, repeats=2)
    assert set(seconds) == {"a"} and seconds["a"] >= 0.01


def test_time_shares_split_a_step_into_matmuls_and_the_rest():
    y = torch.randn(1024, 1024, requires_grad=True)
    assert benchmark.time_shares(lambda: (y.relu() * 2).sum().backward()) == 0  # no matmul at all (warms the profiler)
    layer, x = torch.nn.Linear(1024, 1024), torch.randn(1024, 1024)
    assert benchmark.time_shares(lambda: layer(x).sum().backward()) > 0.5  # a big matmul is most of its step
    share = benchmark.time_shares(benchmark.digit_steps(batch=16, width=16)["IGN"])
    assert 0 < share < 1  # some of a step is convolutions, not all of it
