"""On-disk cache of compiled programs, keyed by a digest of the program's structure.

An entry is the LLVM-dialect module after every MLIR pass, so a second process skips tracing
passes and lowering and only JIT-compiles. Entries are written atomically and carry a digest of
their payload: a truncated or corrupted file is detected, deleted and recompiled. The key
includes a digest of the compiler's own sources, so an upgrade never reads stale code.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

MAGIC = b"mxir-cache-1\n"


def cache_dir() -> str | None:
    """MXIR_CACHE_DIR, else ~/.cache/mxir; MXIR_CACHE_DIR=0 or an empty value disables."""
    path = os.environ.get("MXIR_CACHE_DIR")
    if path is not None:
        return None if path in ("", "0") else path
    return os.path.join(os.path.expanduser("~"), ".cache", "mxir")


def load(key: str) -> str | None:
    root = cache_dir()
    if root is None:
        return None
    path = os.path.join(root, key[:2], key)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    header, _, payload = data.partition(b"\n\n")
    if not data.startswith(MAGIC) or header[len(MAGIC):] != hashlib.sha256(payload).hexdigest(
    ).encode():
        _remove(path)  # corrupted or from another format: recompile
        return None
    return payload.decode()


def store(key: str, text: str) -> None:
    root = cache_dir()
    if root is None:
        return
    folder = os.path.join(root, key[:2])
    payload = text.encode()
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n\n" + payload)
        os.replace(tmp, os.path.join(folder, key))
    except OSError:
        pass  # a read-only or full disk only costs recompilation


def invalidate(key: str) -> None:
    root = cache_dir()
    if root is not None:
        _remove(os.path.join(root, key[:2], key))


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
