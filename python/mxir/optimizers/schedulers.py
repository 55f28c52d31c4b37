"""Learning-rate schedules: functions of the step array (so they trace into compiled steps)."""

from __future__ import annotations

import math
from collections.abc import Callable

import mxir as mx


def exponential_decay(init: float, decay_rate: float) -> Callable:
    return lambda step: init * decay_rate**step


def step_decay(init: float, decay_rate: float, step_size: int) -> Callable:
    if step_size < 1:
        raise ValueError(f"step_size must be greater than 0, but got {step_size}.")
    return lambda step: init * decay_rate ** (step // step_size)


def cosine_decay(init: float, decay_steps: int, end: float = 0.0) -> Callable:
    if decay_steps < 1:
        raise ValueError(f"decay_steps must be greater than 0, but got {decay_steps}.")

    def schedule(step):
        s = mx.minimum(step, decay_steps)
        return end + 0.5 * (1.0 + mx.cos(math.pi / decay_steps * s)) * (init - end)
    return schedule


def join_schedules(schedules: list[Callable], boundaries: list[int]) -> Callable:
    """schedules[i] from boundaries[i - 1] on, called with the steps since that boundary."""
    if len(schedules) == 0:
        raise ValueError("Must provide at least 1 schedule to join.")
    if len(schedules) != len(boundaries) + 1:
        raise ValueError(f"Received {len(boundaries)} boundaries but expected "
                         f"{len(schedules) - 1}.")

    def schedule(step):
        out = schedules[0](step)
        for boundary, later in zip(boundaries, schedules[1:]):
            out = mx.where(step < boundary, out, later(step - boundary))
        return out
    return schedule


def linear_schedule(init: float, end: float, steps: int) -> Callable:
    if steps < 1:
        raise ValueError(f"steps must be greater than 0, but got {steps}.")
    return lambda step: mx.minimum(step, steps) * ((end - init) / steps) + init
