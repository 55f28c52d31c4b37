"""Executables on disk: compile where the MLIR wheels are, run where the GPU is.

`save(exe, path)` writes the Executable's JSON (schema/executable.py; gzip when the name ends
in .gz); `load(path)` reads it back. Pure Python: importing this needs neither MLIR nor a GPU.
"""

from __future__ import annotations

import gzip

from mxir.schema.executable import Executable


def save(exe: Executable, path: str) -> None:
    data = exe.dumps().encode()
    if path.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as f:
        f.write(data)


def load(path: str) -> Executable:
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return Executable.loads(data.decode())
