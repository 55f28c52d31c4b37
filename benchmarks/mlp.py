"""The classic MLP on MNIST-shaped data (784 features, 10 classes), trained with SGD.

    python benchmarks/mlp.py [--steps 50] [--compile] [--backend mxir|mlx]

The data is synthetic (NumPy, seeded): each class is a random prototype image plus noise, so
the loss falls. `--backend mlx` runs the very same script on Apple MLX: with the same seed the
printed losses agree (mxir's random stream equals MLX's, so the initial weights do too)."""

import argparse
import importlib
import time
from functools import partial

import numpy as np


def synthetic_mnist(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    prototypes = rng.random((10, 784), dtype=np.float32)
    labels = rng.integers(0, 10, n).astype(np.int32)
    images = prototypes[labels] + 0.5 * rng.standard_normal((n, 784), dtype=np.float32)
    return images.astype(np.float32), labels


def build(argv=None):
    """(args, mx, step, batch, state): step(x, y) -> loss; batch(i) -> (x, y) arrays."""
    p = argparse.ArgumentParser()
    p.add_argument("--backend", default="mxir", choices=["mxir", "mlx"])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    core = "mlx.core" if args.backend == "mlx" else "mxir"
    mx = importlib.import_module(core)
    nn = importlib.import_module(args.backend + ".nn")
    optim = importlib.import_module(args.backend + ".optimizers")

    class MLP(nn.Module):
        def __init__(self, num_layers: int, input_dim: int, hidden_dim: int, output_dim: int):
            super().__init__()
            sizes = [input_dim] + [hidden_dim] * num_layers + [output_dim]
            self.layers = [nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:])]

        def __call__(self, x):
            for layer in self.layers[:-1]:
                x = nn.relu(layer(x))
            return self.layers[-1](x)

    mx.random.seed(args.seed)
    model = MLP(args.layers, 784, args.hidden, 10)
    mx.eval(model.parameters())
    optimizer = optim.SGD(learning_rate=args.lr)

    def loss_fn(model, x, y):
        return nn.losses.cross_entropy(model(x), y, reduction="mean")

    loss_and_grad = nn.value_and_grad(model, loss_fn)

    def step(x, y):
        loss, grads = loss_and_grad(model, x, y)
        optimizer.update(model, grads)
        return loss

    state = [model.state, optimizer.state]
    if args.compile:
        step = partial(mx.compile, inputs=state, outputs=state)(step)

    images, labels = synthetic_mnist(args.steps * args.batch_size, args.seed)

    def batch(i):
        sl = slice(i * args.batch_size, (i + 1) * args.batch_size)
        return mx.array(images[sl]), mx.array(labels[sl])

    return args, mx, step, batch, state


def main(argv=None):
    args, mx, step, batch, state = build(argv)
    losses, times = [], []
    for i in range(args.steps):
        start = time.perf_counter()
        loss = step(*batch(i))
        mx.eval(loss, state)
        losses.append(loss.item())
        times.append(time.perf_counter() - start)
        print(f"step {i}: loss {losses[-1]:.6f}")
    later = sorted(times[2:]) or times  # the first steps trace and compile
    print(f"{args.backend}: first step {times[0]:.3f} s, then {1e3 * later[len(later) // 2]:.2f} "
          "ms per step (median)")
    return losses


if __name__ == "__main__":
    main()
