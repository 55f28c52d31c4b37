"""A short tour: `python -m mxir.demo`."""

import mxir as mx


def main() -> None:
    print("# arrays and ops (lazy; printing evaluates through the MLIR CPU pipeline)")
    a = mx.array([[1.0, 2.0], [3.0, 4.0]])
    print("a =", a)
    print("mx.exp(a) * 2 - a.T =", mx.exp(a) * 2 - a.T)
    print("mx.sum(a, axis=0) =", mx.sum(a, axis=0))
    print("mx.cos(mx.array(mx.pi)) =", mx.cos(mx.array(mx.pi)))

    print("\n# function transforms, composed")
    print("mx.grad(mx.sin)(pi) =", mx.grad(mx.sin)(mx.array(mx.pi)))
    print("mx.grad(mx.grad(mx.sin))(pi/2) =", mx.grad(mx.grad(mx.sin))(mx.array(mx.pi / 2)))
    print("mx.vmap(mx.grad(mx.sin))([0, 1]) =", mx.vmap(mx.grad(mx.sin))(mx.array([0.0, 1.0])))

    def f(x):
        return mx.sum(mx.sin(x) * x)

    x = mx.array([0.5, 1.0, 2.0])
    print("\n# the IR of grad(f): the derivative is an mx.vjp op, expanded by a pass")
    print(mx.ir_of(mx.grad(f), x))
    print("# ... after mx-transforms, mx-simplify and mx-to-linalg")
    print(mx.ir_of(mx.grad(f), x, lowered=True))


if __name__ == "__main__":
    main()
