"""Files and buffers exchanged with MLX itself: safetensors and GGUF written by one library
and read by the other, DLPack both ways, and the device queries against this build."""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")


def _arrays(L, dtypes):
    rng = np.random.default_rng(0)
    out = {}
    for i, d in enumerate(dtypes):
        x = (rng.standard_normal((2, 3)) * 10).astype(np.float32)
        out[f"t{i}_{d}"] = L.array(x).astype(getattr(L, d))
    out["scalar"] = L.array(3.5)
    return out


def _same(ours: dict, theirs: dict) -> None:
    assert sorted(ours) == sorted(theirs)
    for k in ours:
        a, b = ours[k], theirs[k]
        assert str(a.dtype).rsplit(".")[-1] == str(b.dtype).rsplit(".")[-1], k
        assert tuple(a.shape) == tuple(b.shape), k
        np.testing.assert_array_equal(np.array(a.astype(mx.float32)),
                                      np.array(b.astype(mlx.float32)), err_msg=k)


ST_DTYPES = ("float32", "float16", "bfloat16", "int32", "uint8", "uint32", "int64", "bool_")


@pytest.mark.parametrize("writer", ["mxir", "mlx"])
def test_safetensors_round_trip_with_mlx(tmp_path, writer):
    path = str(tmp_path / "w")
    meta = {"format": "mlx", "step": "3"}
    if writer == "mxir":
        mx.save_safetensors(path, _arrays(mx, ST_DTYPES), meta)
        got, got_meta = mlx.load(path + ".safetensors", return_metadata=True)
        _same(_arrays(mx, ST_DTYPES), got)
    else:
        mlx.save_safetensors(path, _arrays(mlx, ST_DTYPES), meta)
        got, got_meta = mx.load(path + ".safetensors", return_metadata=True)
        _same(got, _arrays(mlx, ST_DTYPES))
    assert got_meta == meta


GGUF_DTYPES = ("float32", "float16", "int32")


@pytest.mark.parametrize("writer", ["mxir", "mlx"])
def test_gguf_round_trip_with_mlx(tmp_path, writer):
    path = str(tmp_path / "w")
    lib = mx if writer == "mxir" else mlx
    meta = {"name": "m", "tags": ["a", "b"], "n": lib.array(7), "v": lib.array([1.5, 2.0])}
    lib.save_gguf(path, _arrays(lib, GGUF_DTYPES), meta)
    reader = mlx if writer == "mxir" else mx
    got, got_meta = reader.load(path + ".gguf", return_metadata=True)
    if writer == "mxir":
        _same(_arrays(mx, GGUF_DTYPES), got)
    else:
        _same(got, _arrays(mlx, GGUF_DTYPES))
    assert got_meta["name"] == "m" and got_meta["tags"] == ["a", "b"]
    assert np.array(got_meta["n"]).item() == 7
    np.testing.assert_array_equal(np.array(got_meta["v"]), [1.5, 2.0])


def test_save_gguf_refuses_what_mlx_refuses(tmp_path):
    for d in ("bfloat16", "uint8", "float64"):
        with pytest.raises(RuntimeError):
            mx.save_gguf(str(tmp_path / "x"), {"a": mx.ones((2,), getattr(mx, d))})
        with pytest.raises(RuntimeError):
            mlx.save_gguf(str(tmp_path / "y"), {"a": mlx.ones((2,), getattr(mlx, d))})


def test_savez_compressed_read_by_mlx(tmp_path):
    path = str(tmp_path / "z")
    mx.savez_compressed(path, a=mx.arange(5), b=mx.ones((2, 2)))
    got = mlx.load(path + ".npz")
    np.testing.assert_array_equal(np.array(got["a"]), np.arange(5))
    assert got["b"].shape == (2, 2)


def test_dlpack_both_ways():
    a = mx.array([[1.0, 2.0], [3.0, 4.0]])
    assert a.__dlpack_device__() == (1, 0)
    np.testing.assert_array_equal(np.from_dlpack(a), np.array(a))
    assert mlx.array(np.from_dlpack(a)).tolist() == a.tolist()
    b = mx.from_dlpack(np.arange(6, dtype=np.int32).reshape(2, 3))
    assert b.dtype == mx.int32 and b.tolist() == [[0, 1, 2], [3, 4, 5]]
    c = mx.from_dlpack(mlx.array([1.5, 2.5]))
    assert c.dtype == mx.float32 and c.tolist() == [1.5, 2.5]
    assert mx.asarray([1, 2], mx.float32).dtype == mx.float32
    assert a.__array_namespace__() is mx


def test_device_queries_describe_this_build():
    assert mx.device_count(mx.cpu) == mlx.device_count(mlx.cpu) == 1
    assert mx.device_count(mx.gpu) == int(mx.is_available(mx.gpu))
    info = mx.device_info(mx.cpu)
    assert info == mlx.device_info(mlx.cpu)  # same keys and values on the same machine
    assert mx.metal.is_available() == (mx.is_available(mx.gpu) and mx.device.gpu_backend()
                                       in ("metal", "metal-sim"))
    assert mx.cuda.is_available() == (mx.is_available(mx.gpu)
                                      and mx.device.gpu_backend() == "cuda")
    if not mx.metal.is_available():
        assert mx.metal.device_info() == {}


def test_random_permutation_is_mlx_stream():
    for n in (1, 5, 17):
        k = 3 * n
        assert (mx.random.permutation(n, key=mx.random.key(k)).tolist()
                == mlx.random.permutation(n, key=mlx.random.key(k)).tolist())
    x = np.arange(12).reshape(3, 4)
    for axis in (0, 1, -1):
        ours = mx.random.permutation(mx.array(x), axis=axis, key=mx.random.key(1))
        theirs = mlx.random.permutation(mlx.array(x), axis=axis, key=mlx.random.key(1))
        assert ours.tolist() == theirs.tolist()


def test_array_like_objects():
    class Holder:
        def __mlx_array__(self):
            return mx.array([1.0, 2.0])

    assert isinstance(Holder(), mx.ArrayLike) and not isinstance(3, mx.ArrayLike)
    assert mx.array(Holder()).tolist() == [1.0, 2.0]
    assert mx.add(Holder(), 1).tolist() == [2.0, 3.0]


def test_streams_as_mlx():
    import threading

    t = mx.new_thread_local_stream(mx.cpu)
    assert repr(t).startswith("ThreadLocalStream(Device(cpu, 0),") and t.device == mx.cpu
    base = mx.default_stream(mx.cpu)
    with mx.stream(t) as entered:
        assert entered is None  # as MLX's StreamContext
        mine = mx.default_stream(mx.cpu)
        assert mine != base
    with mx.StreamContext(t):
        assert mx.default_stream(mx.cpu) == mine  # one stream per thread
    other = []

    def work():
        with mx.stream(t):
            other.append(mx.default_stream(mx.cpu))

    th = threading.Thread(target=work)
    th.start()
    th.join()
    assert other[0] not in (mine, base)
    assert mx.default_stream(mx.cpu) == base
    assert mx.add(mx.array(1), 1, stream=t).item() == 2
