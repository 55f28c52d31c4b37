"""MSL source -> a shared library for metal-sim: rewrite the few MSL-only spellings, generate one
launcher per `kernel void` from its [[buffer(i)]]/builtin attributes, and build with g++.

Libraries are cached on disk (MXIR_CACHE_DIR/metal-sim, else ~/.cache/mxir/metal-sim) by a hash of
the translated source, the shim and the compiler, and in memory by a hash of the MSL source.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from functools import cached_property
from itertools import product

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CXX = os.environ.get("MXIR_METAL_SIM_CXX", "g++")
# Fast math stays off (tests compare with NumPy); -fwrapv: Metal integers wrap on overflow.
FLAGS = ["-std=c++17", "-O2", "-fPIC", "-fwrapv", "-fno-strict-aliasing", "-fno-exceptions",
         "-fno-rtti", "-I", HERE]


class MetalSimError(RuntimeError):
    """An MSL compile error (with the compiler's log) or a fault found while running a kernel."""


# ---------------------------------------------------------------------------------------------
# Kernel signatures

BUILTINS = {  # attribute -> expression giving a pointer to its uint32 value(s)
    "thread_position_in_grid": "b->gid",
    "thread_position_in_threadgroup": "b->tid",
    "threadgroup_position_in_grid": "b->bid",
    "threads_per_threadgroup": "b->tpg",
    "dispatch_threads_per_threadgroup": "b->dispatch_tpg",
    "threadgroups_per_grid": "b->groups",
    "threads_per_grid": "b->grid",
    "grid_size": "b->grid",
    "thread_index_in_threadgroup": "&b->index",
    "thread_index_in_simdgroup": "&b->simd_lane",
    "simd_lane_id": "&b->simd_lane",
    "simdgroup_index_in_threadgroup": "&b->simd_group",
    "simdgroups_per_threadgroup": "&b->simd_groups",
    "dispatch_simdgroups_per_threadgroup": "&b->simd_groups",
    "threads_per_simdgroup": "&b->simd_width",
    "thread_execution_width": "&b->simd_width",
}

# MSL scalar type -> NumPy dtype of a value passed by setBytes.
SCALARS = {"float": "<f4", "half": "<f2", "int": "<i4", "uint": "<u4", "unsigned": "<u4",
           "unsigned int": "<u4", "short": "<i2", "ushort": "<u2", "char": "<i1",
           "uchar": "<u1", "bool": "<u1", "long": "<i8", "ulong": "<u8", "bfloat": "bfloat",
           "int32_t": "<i4", "uint32_t": "<u4", "int64_t": "<i8", "uint64_t": "<u8",
           "size_t": "<u8"}


@dataclass
class Param:
    name: str
    type: str  # C++ spelling after the rewrite (constant -> const)
    kind: str  # "pointer" | "reference" | "builtin"
    index: int = -1  # [[buffer(index)]]
    builtin: str = ""

    @cached_property
    def value_type(self) -> tuple[str, int] | None:
        """(dtype, components) of the pointee / referenced value when it is a scalar or vector."""
        base = re.sub(r"\b(const|volatile|device|constant|thread|threadgroup|metal::)\b|[*&]",
                      " ", self.type.replace("metal::", " "))
        base = " ".join(base.split())
        if base in SCALARS:
            return SCALARS[base], 1
        m = re.fullmatch(r"(packed_)?([a-z]+)([234])", base)
        if m and m.group(2) in SCALARS:
            n = int(m.group(3))
            return SCALARS[m.group(2)], 4 if n == 3 and not m.group(1) else n
        return None


@dataclass
class KernelInfo:
    name: str
    params: list[Param]
    slots: int = 0  # size of the argument array: 1 + the highest buffer index
    buffers: dict = field(default_factory=dict)  # buffer index -> Param
    template: bool = False  # a function template: launched only through an instantiation
    call: str = ""  # what the launcher calls: the name, or `f<args>` for an instantiation


_ATTR = re.compile(r"\[\[\s*([A-Za-z_]\w*)\s*(?:\(\s*([^()\[\]]*?)\s*\))?\s*\]\]")
_KERNEL = re.compile(r"(?:\bkernel\b|\[\[\s*kernel\s*\]\])\s+void\s+([A-Za-z_]\w*)\s*\(")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_SYNC = re.compile(r"\b(?:threadgroup_barrier|simdgroup_barrier|simd_\w+|quad_\w+)\s*\(")
_TG_VAR = re.compile(
    r"\bthreadgroup\s+([A-Za-z_][\w:\s<>]*?)\s+([A-Za-z_]\w*)\s*((?:\[[^\];]*\]\s*)*);")
_TEMPLATE_HEAD = re.compile(r"\btemplate\s*<[^{};]*>\s*$")
# an explicit instantiation exported under a name, as MLX's metal_kernel writes for templates:
# template [[host_name("k")]] [[kernel]] decltype(f<float, 3>) f<float, 3>;
_INSTANCE = re.compile(r"\btemplate\s*\[\[\s*host_name\s*\(\s*\"(\w+)\"\s*\)\s*\]\]\s*"
                       r"\[\[\s*kernel\s*\]\]\s*decltype\s*\(\s*(\w+)\s*(<[^;]*?>)\s*\)"
                       r"\s*\2\s*\3\s*;")
_HALF_LITERAL = re.compile(r"(?<![\w.])((?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)[hH]\b")


def _blank(m: re.Match) -> str:
    return re.sub(r"[^\n]", " ", m.group(0))  # keep line numbers for compiler messages


def _split_params(text: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "(<[":
            depth += 1
        elif ch in ")>]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return parts


def _as_cxx_type(t: str) -> str:
    t = re.sub(r"\bconstant\b", "const", t)
    t = re.sub(r"\bconst(\s+const\b)+", "const", t)
    return " ".join(t.split())


def parse_kernels(source: str) -> list[KernelInfo]:
    """Every `kernel void` of `source` (comments already blanked) with its parameters."""
    kernels = []
    for m in _KERNEL.finditer(source):
        name, start, depth = m.group(1), m.end(), 1
        i = start
        while i < len(source) and depth:
            depth += {"(": 1, ")": -1}.get(source[i], 0)
            i += 1
        if depth:
            raise MetalSimError(f"kernel {name}: unbalanced parentheses in its signature")
        info = KernelInfo(name, [])
        for text in _split_params(source[start:i - 1]):
            attrs = _ATTR.findall(text)
            decl = _ATTR.sub(" ", text).strip()
            nm = re.search(r"([A-Za-z_]\w*)\s*$", decl)
            if not nm:
                raise MetalSimError(f"kernel {name}: cannot read the parameter {text.strip()!r}")
            pname, ptype = nm.group(1), _as_cxx_type(decl[:nm.start()])
            if not attrs:
                raise MetalSimError(f"kernel {name}: parameter {pname} has no [[...]] attribute")
            attr, arg = attrs[0]
            if attr == "buffer":
                if "*" in ptype:
                    kind = "pointer"
                elif "&" in ptype:
                    kind = "reference"
                else:
                    raise MetalSimError(f"kernel {name}: buffer parameter {pname} must be a "
                                        "pointer or a reference")
                p = Param(pname, ptype, kind, index=int(arg, 0))
                if p.index in info.buffers:
                    raise MetalSimError(f"kernel {name}: two parameters bind [[buffer({arg})]]")
                info.buffers[p.index] = p
            elif attr in BUILTINS:
                p = Param(pname, re.sub(r"\bconst\b", "", ptype).strip(), "builtin",
                          builtin=attr)
            else:
                raise MetalSimError(f"kernel {name}: parameter {pname}: [[{attr}]] is not "
                                    "supported by metal-sim")
            info.params.append(p)
        info.slots = 1 + max(info.buffers, default=-1)
        info.template = _TEMPLATE_HEAD.search(source, 0, m.start()) is not None
        info.call = name
        kernels.append(info)
    return kernels


def instantiations(source: str, kernels: list[KernelInfo]) -> list[KernelInfo]:
    """The kernels that `template [[host_name(...)]]` lines export from function templates."""
    templates = {k.name: k for k in kernels if k.template}
    out = []
    for m in _INSTANCE.finditer(source):
        host, fn, args = m.groups()
        if fn not in templates:
            raise MetalSimError(f"kernel {host}: {fn} is not a kernel function template")
        t = templates[fn]
        out.append(KernelInfo(host, t.params, t.slots, t.buffers, False,
                              f"{fn}{' '.join(args.split())}"))
    return out


def translate(source: str) -> tuple[str, list[KernelInfo], bool]:
    """MSL -> C++ for the shim: (text, kernels, whether threads need fibers)."""
    text = _COMMENT.sub(_blank, source)
    kernels = parse_kernels(text)
    kernels = [k for k in kernels if not k.template] + instantiations(text, kernels)
    if not kernels:
        raise MetalSimError("the MSL source defines no `kernel void` function")
    text = _INSTANCE.sub(_blank, text)  # each becomes a launcher that calls f<args>
    fibers = _SYNC.search(text) is not None
    text = re.sub(r"^\s*#\s*include\s*<metal_\w+>", "", text, flags=re.M)
    text = _ATTR.sub("", text)
    counter = iter(range(1 << 30))

    def tg_var(m: re.Match) -> str:
        t = f"mxsim_t<{' '.join(m.group(1).split())}{''.join(m.group(3).split())}>"
        return (f"{t}& {m.group(2)} = *({t}*)mxsim_tg_alloc({next(counter)}, sizeof({t}), "
                f"alignof({t}));")

    text = _TG_VAR.sub(tg_var, text)
    text = _HALF_LITERAL.sub(r"((half)\1f)", text)
    text = re.sub(r"\bconstant\b", "const", text)
    text = re.sub(r"\bconst(\s+const\b)+", "const", text)
    return text, kernels, fibers


# An instantiation's parameter types name the template's parameters (T), unknown where the
# launcher is: its buffers convert to whatever pointer or reference the parameter is.
_ARG_PROXIES = """
struct mxsim_pointer_arg { void* p; template <class P> operator P*() const { return (P*)p; } };
struct mxsim_reference_arg { void* p; template <class R> operator R&() const { return *(R*)p; } };
"""


def launcher(k: KernelInfo, fibers: bool) -> str:
    args = []
    typed = k.call == k.name
    for p in k.params:
        if p.kind == "pointer":
            args.append(f"({p.type})a[{p.index}]" if typed else
                        f"mxsim_pointer_arg{{a[{p.index}]}}")
        elif p.kind == "reference":
            args.append(f"*({p.type.replace('&', '').strip()}*)a[{p.index}]" if typed else
                        f"mxsim_reference_arg{{a[{p.index}]}}")
        else:
            args.append(f"metal::mxsim_builtin<{p.type}>({BUILTINS[p.builtin]})")
    return (f"\nstatic void mxsim_lane_{k.name}(void* const* a, const mxsim_builtins* b) {{\n"
            f"  (void)a; (void)b;\n  {k.call}({', '.join(args)});\n}}\n"
            f'extern "C" __attribute__((visibility("default"))) int mxsim_launch_{k.name}('
            "void* const* a, const uint32_t* grid, const uint32_t* tg, int uniform, int order, "
            "uint64_t seed, char* err, int errlen) {\n"
            f"  return mxsim_run(mxsim_lane_{k.name}, {int(fibers)}, a, grid, tg, uniform, order, "
            "seed, err, errlen);\n}\n")


# ---------------------------------------------------------------------------------------------
# Building and loading

def _swizzles() -> str:
    lines = []
    for n in (2, 3, 4):
        members = []
        for letters in ("xyzw", "rgba"):
            for k in (2, 3, 4):
                for combo in product(range(n), repeat=k):
                    name = "".join(letters[i] for i in combo)
                    members.append(f"mxsim_swz<T, {n}, {', '.join(map(str, combo))}> {name};")
        lines.append(f"#define MXSIM_SWIZZLES{n} " + " ".join(members))
    return "\n".join(lines) + "\n"


def _read(name: str) -> str:
    with open(os.path.join(HERE, name)) as f:
        return f.read()


_lock = threading.Lock()
_state: dict = {}


def _cache_root() -> str:
    from ..cache import cache_dir

    root = cache_dir()
    if root is None:  # caching disabled: one private folder per process
        if "tmp" not in _state:
            _state["tmp"] = tempfile.mkdtemp(prefix="mxir-metal-sim-")
        return _state["tmp"]
    return os.path.join(root, "metal-sim")


def _compiler_id() -> str:
    if "cxx" not in _state:
        try:
            out = subprocess.run([CXX, "--version"], capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError) as e:
            raise MetalSimError(f"metal-sim needs a C++17 compiler ({CXX}): {e}") from None
        _state["cxx"] = out.stdout.splitlines()[0]
    return _state["cxx"]


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def _build(args: list[str], out: str, what: str) -> None:
    """Run the compiler writing `out` atomically; a failure raises with its log."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(out), suffix=os.path.splitext(out)[1])
    os.close(fd)
    try:
        proc = subprocess.run([CXX, *args, "-o", tmp], capture_output=True, text=True)
        if proc.returncode:
            raise MetalSimError(f"{what} failed to compile:\n{proc.stderr.strip()}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _prepare() -> tuple[str, str]:
    """The shim header (swizzles + metal_shim.h, precompiled) and the runtime library, loaded
    once per process with RTLD_GLOBAL so that every program resolves mxsim_* against it."""
    if "shim" in _state:
        return _state["shim"], _state["key"]
    shim_text = _swizzles() + _read("metal_shim.h")
    key = _digest(shim_text, _read("sim_runtime.h"), _read("sim_runtime.cpp"), _compiler_id(),
                  " ".join(FLAGS))
    root = _cache_root()
    header = os.path.join(root, f"shim-{key}.h")
    if not os.path.exists(header + ".gch"):
        os.makedirs(root, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=root, suffix=".h")
        with os.fdopen(fd, "w") as f:
            f.write(shim_text)
        os.replace(tmp, header)
        _build([*FLAGS, "-x", "c++-header", header], header + ".gch", "the metal-sim shim")
    lib = os.path.join(root, f"libmxsim-{key}.so")
    if not os.path.exists(lib):
        _build([*FLAGS, "-shared", os.path.join(HERE, "sim_runtime.cpp")], lib,
               "the metal-sim runtime")
    ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
    _state["shim"], _state["key"] = header, key
    return header, key


@dataclass
class Program:
    """A compiled MSL library: its kernels, by name, with their launch entry points."""

    source: str
    path: str
    kernels: dict  # name -> KernelInfo
    entries: dict  # name -> ctypes function
    library: object = None


_LAUNCH_ARGS = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                ctypes.c_uint64, ctypes.c_char_p, ctypes.c_int]
_programs: dict[str, Program] = {}


def compile_msl(source: str) -> Program:
    """Compile (or fetch from the caches) the MSL `source`."""
    src_key = hashlib.sha256(source.encode()).hexdigest()
    with _lock:
        if src_key in _programs:
            return _programs[src_key]
        header, shim_key = _prepare()
        text, kernels, fibers = translate(source)
        launchers = _ARG_PROXIES + "".join(launcher(k, fibers) for k in kernels)
        cxx = f'#include "{header}"\n#line 1 "kernel.metal"\n{text}\n#line 1 "launcher"\n'
        cxx += launchers
        key = _digest(shim_key, cxx)
        path = os.path.join(_cache_root(), key[:2], f"{key}.so")
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, src_path = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".cpp")
            with os.fdopen(fd, "w") as f:
                f.write(cxx)
            try:
                _build([*FLAGS, "-Winvalid-pch", "-shared", src_path], path, "MSL source")
            except MetalSimError as e:
                raise MetalSimError(str(e).replace(src_path, "kernel.cpp")) from None
            finally:
                os.remove(src_path)
        lib = ctypes.CDLL(path)
        entries = {}
        for k in kernels:
            fn = getattr(lib, f"mxsim_launch_{k.name}")
            fn.argtypes = _LAUNCH_ARGS
            fn.restype = ctypes.c_int
            entries[k.name] = fn
        prog = Program(source, path, {k.name: k for k in kernels}, entries, lib)
        _programs[src_key] = prog
        return prog


def pack_scalar(param: Param, value, kernel: str) -> np.ndarray:
    """The bytes a scalar argument is passed as, typed by the kernel's declared parameter."""
    if isinstance(value, (bytes, bytearray)):
        return np.frombuffer(bytes(value), np.uint8).copy()
    vt = param.value_type
    if vt is None:
        if isinstance(value, np.ndarray):
            return np.ascontiguousarray(value).view(np.uint8).reshape(-1).copy()
        raise MetalSimError(f"kernel {kernel}: parameter {param.name} of type {param.type!r} "
                            "takes a buffer, bytes or a NumPy array, not a Python scalar")
    dtype, n = vt
    vals = np.asarray(value, dtype=np.float64 if dtype in ("<f4", "<f2", "bfloat") else None)
    vals = vals.reshape(-1)
    if vals.size != n and not (n == 4 and vals.size == 3):  # a 3-vector pads to 4
        raise MetalSimError(f"kernel {kernel}: parameter {param.name} takes {n} values, "
                            f"got {vals.size}")
    if dtype == "bfloat":
        bits = vals.astype(np.float32).view(np.uint32)
        bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
        out = bits
    else:
        out = vals.astype(np.dtype(dtype))
    if out.size < n:
        out = np.concatenate([out, np.zeros(n - out.size, out.dtype)])
    return out.view(np.uint8).copy()
