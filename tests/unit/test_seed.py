"""The user-facing spec (tests/seed/function_transforms.txt, a copy of the product's seed text):
every example runs with `import mxir as mx` and prints what the text says."""

import doctest
import os
import re

import mxir as mx
import numpy as np
import pytest

SEED = os.path.join(os.path.dirname(__file__), "..", "seed", "function_transforms.txt")


def test_interactive_examples_print_exactly():
    result = doctest.testfile(SEED, module_relative=False, globs={"mx": mx},
                              optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 6
    assert result.failed == 0


def _code_blocks(text):
    """Indented code blocks that carry `# Prints` comments."""
    blocks, current = [], []
    for line in text.splitlines():
        if line.startswith("   ") and not line.strip().startswith(">>>"):
            current.append(line[3:])
        elif line.strip() == "" and current:
            current.append("")
        else:
            if current:
                blocks.append("\n".join(current))
            current = []
    return [b for b in blocks if "# Prints" in b]


def _expected_prints(block):
    """The text after `# Prints` (same line or the following comment line)."""
    lines = block.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"\s*# Prints\s*(.*)", line)
        if m:
            out.append(m.group(1).strip() or lines[i + 1].strip().lstrip("# ").strip())
    return out


def test_prints_comments_in_code_blocks(capsys):
    with open(SEED) as f:
        text = f.read()
    namespace = {"mx": mx}
    blocks = _code_blocks(text)
    assert len(blocks) == 3
    for block in blocks:
        exec(compile(block, SEED, "exec"), namespace)
        printed = [ln for ln in capsys.readouterr().out.splitlines() if ln]
        assert printed == _expected_prints(block)


def test_vmap_section_gives_the_loop_values():
    pytest.importorskip("mxir.random")
    xs = mx.random.uniform(shape=(4096, 100))
    ys = mx.random.uniform(shape=(100, 4096))

    def naive_add(xs, ys):
        return [xs[i] + ys[:, i] for i in range(xs.shape[1])]

    vmap_add = mx.vmap(lambda x, y: x + y, in_axes=(1, 0))
    X, Y = np.array(xs), np.array(ys)
    # As written, the loop adds row i of xs to column i of ys (100 sums of length 100)...
    naive = np.stack([np.array(v) for v in naive_add(xs, ys)])
    np.testing.assert_array_equal(naive, np.stack([X[i] + Y[:, i] for i in range(100)]))
    # ... while vmap maps column j of xs with row j of ys: the "xs + ys.T" the text names.
    got = np.array(vmap_add(xs, ys))
    assert got.shape == (100, 4096)
    np.testing.assert_array_equal(got, np.stack([X[:, j] + Y[j] for j in range(100)]))
    np.testing.assert_array_equal(got, (X + Y.T).T)
