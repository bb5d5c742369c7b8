"""Weights download (local HTTP server on 127.0.0.1) and the translated-model cache."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import multiprocessing
import socket
import threading
from pathlib import Path

from runtime.download import ChecksumError, DownloadError, download, fetch, sha256_file

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper


@contextlib.contextmanager
def serve(folder: Path):
    """Serve `folder` over HTTP on 127.0.0.1 (ephemeral port) in a thread."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url(name: str) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"  # nothing listens there once the socket is closed


@pytest.fixture
def served(tmp_path):
    src = tmp_path / "server"
    src.mkdir()
    data = np.random.default_rng(0).bytes(300_000)
    (src / "weights.onnx").write_bytes(data)
    return src, hashlib.sha256(data).hexdigest(), data


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_success(served, tmp_path):
    src, sha, data = served
    dest = tmp_path / "cache" / "weights.onnx"
    seen = []
    with serve(src) as base:
        path = download(f"{base}/weights.onnx", dest, sha, progress=lambda done, total: seen.append((done, total)))
    assert path == dest and dest.read_bytes() == data
    assert _leftovers(dest.parent) == ["weights.onnx"]  # no temp file left behind
    assert seen[-1] == (len(data), len(data))


def test_sha_mismatch_deletes_and_names_both_hashes(served, tmp_path):
    src, sha, _ = served
    wrong = "0" * 64
    dest = tmp_path / "cache" / "weights.onnx"
    with serve(src) as base, pytest.raises(ChecksumError) as info:
        download(f"{base}/weights.onnx", dest, wrong)
    assert wrong in str(info.value) and sha in str(info.value)
    assert _leftovers(dest.parent) == []


def test_http_error_is_a_download_error(served, tmp_path):
    src, sha, _ = served
    with serve(src) as base, pytest.raises(DownloadError, match="404"):
        download(f"{base}/missing.onnx", tmp_path / "missing.onnx", sha)


def test_no_network_says_which_file_to_place_where(tmp_path):
    dest = tmp_path / "cache" / "weights.onnx"
    with pytest.raises(DownloadError) as info:
        download(closed_port_url("weights.onnx"), dest, "ab" * 32, timeout=5)
    message = str(info.value)
    assert str(dest) in message and "place it at" in message and "ab" * 32 in message
    assert _leftovers(dest.parent) == []


def test_fetch_uses_an_existing_file_without_network(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "local.onnx").write_bytes(b"user placed")
    assert fetch("local.onnx", closed_port_url("local.onnx"), "0" * 64, cache) == cache / "local.onnx"
    (cache / "legacy_name.onnx").write_bytes(b"older uniface name")
    assert fetch("new.onnx", None, None, cache, aliases=("legacy_name.onnx",)) == cache / "legacy_name.onnx"
    with pytest.raises(FileNotFoundError, match="place it at"):
        fetch("absent.onnx", None, None, cache)


# -- translated-model cache ------------------------------------------------------------------


def tiny_model(path: Path) -> Path:
    """Conv + Relu with a dynamic batch: small enough to translate in well under a second."""
    w = numpy_helper.from_array(np.random.default_rng(1).normal(size=(4, 3, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["y"])]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 8, 8])], [w],
    )  # fmt: skip
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def _translate_in_child(args) -> str:
    onnx_path, cache = args
    from runtime.cache import load_or_translate

    model, _ = load_or_translate(onnx_path, sha256_file(onnx_path), cache, input_shapes={"x": (1, 3, 8, 8)})
    return model.mode


def test_second_construction_reuses_translation(tmp_path):
    from runtime.models import MlxRunner, OnnxRunner

    path = tiny_model(tmp_path / "tiny.onnx")
    cache = tmp_path / "translations"
    first = MlxRunner(path, cache_dir=cache, input_shapes={"x": (1, 3, 8, 8)})
    second = MlxRunner(path, cache_dir=cache, input_shapes={"x": (1, 3, 8, 8)})
    assert first.translated_now and not second.translated_now
    entries = [p for p in cache.iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1 and "-t" in entries[0].name and (entries[0] / "meta.json").is_file()
    x = np.random.default_rng(2).normal(size=(1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(second.run(x)[0], OnnxRunner(path).run(x)[0], rtol=1e-5, atol=1e-5)


def test_module_mode_is_cached_separately(tmp_path):
    from runtime.models import MlxRunner

    path = tiny_model(tmp_path / "tiny.onnx")
    cache = tmp_path / "translations"
    oplist = MlxRunner(path, cache_dir=cache, mode="oplist", input_shapes={"x": (1, 3, 8, 8)})
    module = MlxRunner(path, cache_dir=cache, mode="module", input_shapes={"x": (1, 3, 8, 8)})
    assert module.translated_now and sorted(p.name.rsplit("-", 2)[1] for p in cache.iterdir()) == ["module", "oplist"]
    x = np.ones((1, 3, 8, 8), np.float32)
    np.testing.assert_allclose(module.run(x)[0], oplist.run(x)[0], rtol=1e-6)


def test_damaged_entry_is_rebuilt(tmp_path):
    from runtime.models import MlxRunner

    path = tiny_model(tmp_path / "tiny.onnx")
    cache = tmp_path / "translations"
    MlxRunner(path, cache_dir=cache, input_shapes={"x": (1, 3, 8, 8)})
    entry = next(p for p in cache.iterdir() if not p.name.startswith("."))
    (weights,) = entry.glob("*.safetensors")  # the module's or the op list's, whichever the runner uses
    weights.write_bytes(b"corrupted")
    again = MlxRunner(path, cache_dir=cache, input_shapes={"x": (1, 3, 8, 8)})
    assert again.translated_now
    assert again.run(np.zeros((1, 3, 8, 8), np.float32))[0].shape == (1, 4, 8, 8)


def test_racing_processes_do_not_corrupt_the_cache(tmp_path):
    path = tiny_model(tmp_path / "tiny.onnx")
    cache = tmp_path / "translations"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        modes = pool.map(_translate_in_child, [(str(path), str(cache))] * 4)
    assert modes == ["oplist"] * 4
    assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []  # no temp folders left
    assert len(list(cache.iterdir())) == 1
