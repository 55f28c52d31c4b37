"""MLX's loss functions with its reductions ("none", "mean", "sum"), defaults and errors."""

from __future__ import annotations

import math
from typing import Literal, get_args

import mxir as mx

Reduction = Literal["none", "mean", "sum"]


def _reduce(loss: mx.array, reduction: Reduction = "none") -> mx.array:
    if reduction not in get_args(Reduction):
        raise ValueError(f"Invalid reduction. Must be one of {get_args(Reduction)}.")
    if reduction == "mean":
        return mx.mean(loss)
    return mx.sum(loss) if reduction == "sum" else loss


def _same_shape(a, b, what: str = "Predictions", other: str = "targets") -> None:
    if a.shape != b.shape:
        raise ValueError(f"{what} shape {a.shape} does not match {other} shape {b.shape}.")


def _weighted(loss: mx.array, weights) -> mx.array:
    if weights is None:
        return loss
    if weights.shape != loss.shape:
        raise ValueError(f"Weights with shape {weights.shape} is not the same as output loss "
                         f"with shape {loss.shape}.")
    return loss * weights


def cross_entropy(logits: mx.array, targets: mx.array, weights: mx.array | None = None,
                  axis: int = -1, label_smoothing: float = 0.0,
                  reduction: Reduction = "none") -> mx.array:
    """Cross entropy of logits against class indices or (when `targets` has the logits' rank)
    class probabilities, with optional label smoothing and per-example weights."""
    if label_smoothing < 0 or label_smoothing >= 1:
        raise ValueError(f"Label smoothing must be in [0, 1), got {label_smoothing}.")
    as_probs = targets.ndim == logits.ndim
    expected = list(logits.shape)
    if not as_probs:
        expected.pop(axis)
    if tuple(targets.shape) != tuple(expected):
        raise ValueError(f"Targets shape {targets.shape} does not match logits shape "
                         f"{logits.shape}.")
    logits = logits - mx.stop_gradient(mx.max(logits, axis=axis, keepdims=True))
    if as_probs:
        score = mx.sum(logits * targets, axis=axis)
    else:
        score = mx.take_along_axis(logits, mx.expand_dims(targets, axis), axis).squeeze(axis)
    loss = mx.logsumexp(logits, axis=axis)
    if label_smoothing > 0:
        loss = loss - (1 - label_smoothing) * score - logits.mean(axis=axis) * label_smoothing
    else:
        loss = loss - score
    return _reduce(_weighted(loss, weights), reduction)


def binary_cross_entropy(inputs: mx.array, targets: mx.array, weights: mx.array | None = None,
                         with_logits: bool = True, reduction: Reduction = "mean") -> mx.array:
    _same_shape(inputs, targets, "Inputs")
    if with_logits:
        loss = mx.logaddexp(0.0, inputs) - inputs * targets
    else:  # log clipped at -100 so that probabilities 0 and 1 give finite losses
        log_p = mx.clip(mx.log(inputs), -100, None)
        log_q = mx.clip(mx.log(1 - inputs), -100, None)
        loss = -(targets * log_p + (1 - targets) * log_q)
    return _reduce(_weighted(loss, weights), reduction)


def l1_loss(predictions: mx.array, targets: mx.array, reduction: Reduction = "mean") -> mx.array:
    _same_shape(predictions, targets)
    return _reduce(mx.abs(predictions - targets), reduction)


def mse_loss(predictions: mx.array, targets: mx.array, reduction: Reduction = "mean") -> mx.array:
    _same_shape(predictions, targets)
    return _reduce(mx.square(predictions - targets), reduction)


def nll_loss(inputs: mx.array, targets: mx.array, axis: int = -1,
             reduction: Reduction = "none") -> mx.array:
    loss = -mx.take_along_axis(inputs, mx.expand_dims(targets, axis), axis).squeeze(axis)
    return _reduce(loss, reduction)


def gaussian_nll_loss(inputs: mx.array, targets: mx.array, vars: mx.array, full: bool = False,
                      eps: float = 1e-6, reduction: Reduction = "mean") -> mx.array:
    _same_shape(inputs, targets, "Inputs")
    _same_shape(inputs, vars, "Inputs", "vars")
    vars = mx.maximum(vars, eps)
    loss = 0.5 * (mx.log(vars) + mx.square(targets - inputs) / vars)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def kl_div_loss(inputs: mx.array, targets: mx.array, axis: int = -1,
                reduction: Reduction = "none") -> mx.array:
    """KL divergence with both arguments as log probabilities."""
    return _reduce(mx.sum(mx.exp(targets) * (targets - inputs), axis), reduction)


def smooth_l1_loss(predictions: mx.array, targets: mx.array, beta: float = 1.0,
                   reduction: Reduction = "mean") -> mx.array:
    _same_shape(predictions, targets)
    diff = mx.abs(predictions - targets)
    loss = mx.where(diff < beta, 0.5 * mx.square(diff) / beta, diff - 0.5 * beta)
    return _reduce(loss, reduction)


def triplet_loss(anchors: mx.array, positives: mx.array, negatives: mx.array, axis: int = -1,
                 p: int = 2, margin: float = 1.0, eps: float = 1e-6,
                 reduction: Reduction = "none") -> mx.array:
    def dist(b):
        return mx.power(mx.power(mx.abs(anchors - b), p).sum(axis) + eps, 1.0 / p)

    return _reduce(mx.maximum(dist(positives) - dist(negatives) + margin, 0), reduction)


def hinge_loss(inputs: mx.array, targets: mx.array, reduction: Reduction = "none") -> mx.array:
    return _reduce(mx.maximum(1 - inputs * targets, 0), reduction)


def huber_loss(inputs: mx.array, targets: mx.array, delta: float = 1.0,
               reduction: Reduction = "none") -> mx.array:
    err = mx.abs(inputs - targets)
    quadratic = mx.minimum(err, delta)
    return _reduce(0.5 * quadratic**2 + delta * (err - quadratic), reduction)


def log_cosh_loss(inputs: mx.array, targets: mx.array, reduction: Reduction = "none") -> mx.array:
    err = inputs - targets
    return _reduce(mx.logaddexp(err, -err) - math.log(2), reduction)


def cosine_similarity_loss(x1: mx.array, x2: mx.array, axis: int = 1, eps: float = 1e-8,
                           reduction: Reduction = "none") -> mx.array:
    n1 = mx.sqrt(mx.sum(mx.square(x1), axis=axis))
    n2 = mx.sqrt(mx.sum(mx.square(x2), axis=axis))
    return _reduce(mx.sum(x1 * x2, axis=axis) / mx.maximum(n1 * n2, eps), reduction)


def margin_ranking_loss(inputs1: mx.array, inputs2: mx.array, targets: mx.array,
                        margin: float = 0.0, reduction: Reduction = "none") -> mx.array:
    if not (inputs1.shape == inputs2.shape == targets.shape):
        raise ValueError("The shapes of the arguments do not match. The provided shapes are "
                         f"inputs1.shape={inputs1.shape}, inputs2.shape={inputs2.shape}, and "
                         f"targets.shape={targets.shape}.")
    return _reduce(mx.maximum(0, -targets * (inputs1 - inputs2) + margin), reduction)
