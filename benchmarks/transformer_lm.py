"""A small transformer language model trained with a compiled step (AdamW, cosine schedule,
gradient clipping); model, optimizer and random state are the compiled step's implicit state.

    python benchmarks/transformer_lm.py [--steps 50] [--backend mxir|mlx] [--no-compile]

The corpus is synthetic (NumPy, seeded): a few "words" (fixed random token strings) drawn at
random, so next-token prediction inside a word is learnable and the loss falls. `--backend mlx`
runs the same script on Apple MLX; with the same seed the printed losses agree."""

import argparse
import importlib
import math
import time
from functools import partial

import numpy as np


def synthetic_corpus(n_tokens: int, vocab: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    words = [rng.integers(0, vocab, rng.integers(3, 8)) for _ in range(16)]
    out = []
    while len(out) < n_tokens:
        out.extend(words[rng.integers(0, len(words))])
    return np.array(out[:n_tokens], dtype=np.int32)


def build(argv=None):
    """(args, mx, step, batch, state): step(x, y) -> loss; batch(i) -> (x, y) arrays."""
    p = argparse.ArgumentParser()
    p.add_argument("--backend", default="mxir", choices=["mxir", "mlx"])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--context", type=int, default=32)
    p.add_argument("--vocab", type=int, default=64)
    p.add_argument("--dims", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--no-compile", dest="compile", action="store_false")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    mx = importlib.import_module("mlx.core" if args.backend == "mlx" else "mxir")
    nn = importlib.import_module(args.backend + ".nn")
    optim = importlib.import_module(args.backend + ".optimizers")

    class TransformerLM(nn.Module):
        def __init__(self, vocab: int, layers: int, dims: int, heads: int):
            super().__init__()
            self.embedding = nn.Embedding(vocab, dims)
            self.pe = nn.SinusoidalPositionalEncoding(dims)
            self.transformer = nn.TransformerEncoder(layers, dims, heads, norm_first=True)
            self.out_proj = nn.Linear(dims, vocab)

        def __call__(self, x):
            length = x.shape[1]
            mask = nn.MultiHeadAttention.create_additive_causal_mask(length)
            h = self.embedding(x) + self.pe(mx.arange(length))
            return self.out_proj(self.transformer(h, mask))

    mx.random.seed(args.seed)
    model = TransformerLM(args.vocab, args.layers, args.dims, args.heads)
    mx.eval(model.parameters())
    n_params = sum(v.size for _, v in
                   importlib.import_module(args.backend + ".utils").tree_flatten(
                       model.parameters()))
    schedule = optim.join_schedules(
        [optim.linear_schedule(1e-4, args.lr, 10), optim.cosine_decay(args.lr, 200)], [10])
    optimizer = optim.AdamW(learning_rate=schedule, weight_decay=0.01)
    optimizer.init(model.trainable_parameters())  # the state's shape is then fixed: one trace

    def loss_fn(model, x, y):
        return nn.losses.cross_entropy(model(x), y, reduction="mean")

    loss_and_grad = nn.value_and_grad(model, loss_fn)
    state = [model.state, optimizer.state, mx.random.state]

    def step(x, y):
        loss, grads = loss_and_grad(model, x, y)
        grads, _ = optim.clip_grad_norm(grads, max_norm=1.0)
        optimizer.update(model, grads)
        return loss

    if args.compile:
        step = partial(mx.compile, inputs=state, outputs=state)(step)

    corpus = synthetic_corpus(args.steps * args.batch_size * (args.context + 1), args.vocab,
                              args.seed)
    windows = corpus.reshape(-1, args.context + 1)
    print(f"{args.backend}: {n_params} parameters, initial loss ~ {math.log(args.vocab):.3f}")

    def batch(i):
        rows = windows[i * args.batch_size:(i + 1) * args.batch_size]
        return mx.array(rows[:, :-1]), mx.array(rows[:, 1:])

    return args, mx, step, batch, state


def main(argv=None):
    args, mx, step, batch, state = build(argv)
    losses, times = [], []
    for i in range(args.steps):
        start = time.perf_counter()
        loss = step(*batch(i))
        mx.eval(loss, state)  # one evaluation of the step: its loss and new state
        losses.append(loss.item())
        times.append(time.perf_counter() - start)
        print(f"step {i}: loss {losses[-1]:.6f}")
    later = sorted(times[2:]) or times  # the first steps trace and compile
    print(f"{args.backend}: first step {times[0]:.3f} s, then {1e3 * later[len(later) // 2]:.2f} "
          "ms per step (median)")
    return losses


if __name__ == "__main__":
    main()
