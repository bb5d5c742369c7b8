"""Facade weights handling and backend selection (no real network: a local HTTP server)."""

from __future__ import annotations

import hashlib
import shutil

import uniface
from runtime.download import ChecksumError, DownloadError
from uniface import SCRFD, SCRFDWeights
from uniface.backend import Backend, get_backend, resolve_backend, set_backend
from uniface.constants import MODEL_REGISTRY, ModelInfo

import pytest

from ..runtime.test_download import closed_port_url, serve
from .conftest import MODELS, need_shared


@pytest.fixture
def registry_slot(monkeypatch):
    """Point the SCRFD_500M slot at a URL of the test's choosing."""

    def point(url: str, sha: str) -> None:
        monkeypatch.setitem(MODEL_REGISTRY, SCRFDWeights.SCRFD_500M_KPS, ModelInfo(url, sha, "scrfd_500m_kps.onnx"))

    return point


def test_first_use_downloads_into_cache_then_reuses(tmp_path, monkeypatch, registry_slot):
    need_shared()
    cache = tmp_path / "models"
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(cache))
    server_dir = tmp_path / "srv"
    server_dir.mkdir()
    shutil.copyfile(MODELS / "scrfd_500m_kps.onnx", server_dir / "scrfd_500m_kps.onnx")
    sha = hashlib.sha256((server_dir / "scrfd_500m_kps.onnx").read_bytes()).hexdigest()
    with serve(server_dir) as base:
        registry_slot(f"{base}/scrfd_500m_kps.onnx", sha)
        det = SCRFD(model_name=SCRFDWeights.SCRFD_500M_KPS, backend="onnx")
    assert det.model_path == str(cache / "scrfd_500m_kps.onnx")
    registry_slot(closed_port_url("scrfd_500m_kps.onnx"), sha)  # offline now: the cached copy is used
    assert SCRFD(model_name=SCRFDWeights.SCRFD_500M_KPS, backend="onnx").model_path == det.model_path


def test_checksum_mismatch_raises_and_leaves_nothing(tmp_path, monkeypatch, registry_slot):
    need_shared()
    cache = tmp_path / "models"
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(cache))
    with serve(MODELS) as base:
        registry_slot(f"{base}/scrfd_500m_kps.onnx", "f" * 64)
        with pytest.raises(ChecksumError, match="f" * 64):
            SCRFD(model_name=SCRFDWeights.SCRFD_500M_KPS, backend="onnx")
    assert list(cache.iterdir()) == []


def test_offline_error_names_the_file_and_folder(tmp_path, monkeypatch, registry_slot):
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(tmp_path / "models"))
    registry_slot(closed_port_url("scrfd_500m_kps.onnx"), "a" * 64)
    with pytest.raises(DownloadError, match="place it at .*scrfd_500m_kps.onnx"):
        SCRFD(model_name=SCRFDWeights.SCRFD_500M_KPS, backend="onnx")


def test_model_path_skips_the_cache(tmp_path, monkeypatch):
    need_shared()
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(tmp_path / "never-created"))
    det = SCRFD(model_path=MODELS / "scrfd_500m_kps.onnx", backend="onnx")
    assert det.backend == "onnx" and not (tmp_path / "never-created").exists()
    with pytest.raises(FileNotFoundError):
        SCRFD(model_path=tmp_path / "nope.onnx")


def test_emotion_slot_without_onnx_upstream_explains(tmp_path, monkeypatch):
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="affecnet7.onnx"):
        uniface.Emotion()


def test_backend_precedence(monkeypatch):
    monkeypatch.delenv("UNIFACE_BACKEND", raising=False)
    try:
        assert get_backend() in (Backend.MLX, Backend.ONNX)
        assert resolve_backend()[1] is False
        monkeypatch.setenv("UNIFACE_BACKEND", "onnx")  # read at call time, not import
        assert resolve_backend() == (Backend.ONNX, True)
        set_backend("mlx")
        assert get_backend() is Backend.MLX
        assert resolve_backend("onnx") == (Backend.ONNX, True)
        with pytest.raises(ValueError):
            set_backend("tpu")
    finally:
        set_backend(None)
    assert get_backend() is Backend.ONNX
    assert f"{Backend.MLX}" == "Backend.MLX"


def test_env_backend_applies_at_construction(monkeypatch):
    need_shared()
    monkeypatch.setenv("UNIFACE_BACKEND", "onnx")
    assert SCRFD(model_path=MODELS / "scrfd_500m_kps.onnx").backend == "onnx"


def test_unknown_keyword_is_rejected():
    need_shared()
    with pytest.raises(TypeError, match="conf_tresh"):
        SCRFD(model_path=MODELS / "scrfd_500m_kps.onnx", backend="onnx", conf_tresh=0.3)
    det = SCRFD(model_path=MODELS / "scrfd_500m_kps.onnx", backend="onnx", confidence_threshold=0.3)
    assert det.conf_thresh == 0.3


def test_second_construction_does_not_translate_again(tmp_path, monkeypatch):
    need_shared()
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(tmp_path))
    first = SCRFD(model_path=MODELS / "scrfd_500m_kps.onnx", backend="mlx")
    second = SCRFD(model_path=MODELS / "scrfd_500m_kps.onnx", backend="mlx")
    assert first.session.translated_now and not second.session.translated_now
    entries = list((tmp_path / "mlx").iterdir())
    assert len(entries) == 1 and entries[0].name.startswith("scrfd_500m_kps-5e4447f50245bbd7-t")


def test_mirror_serves_when_the_release_url_is_down(tmp_path, monkeypatch, registry_slot):
    """Upstream 4.x falls back to its Hugging Face mirror, keyed by `<enum value><ext>`; so do we."""
    need_shared()
    import uniface.constants

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copyfile(MODELS / "scrfd_500m_kps.onnx", mirror / "scrfd_500m.onnx")  # SCRFD_500M_KPS.value + .onnx
    sha = hashlib.sha256((mirror / "scrfd_500m.onnx").read_bytes()).hexdigest()
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(tmp_path / "models"))
    with serve(mirror) as base:
        monkeypatch.setattr(uniface.constants, "HF_MIRROR_URL", base)
        registry_slot(closed_port_url("scrfd_500m_kps.onnx"), sha)
        path = uniface.verify_model_weights(SCRFDWeights.SCRFD_500M_KPS, timeout=5, max_retries=2)
    assert path == str(tmp_path / "models" / "scrfd_500m_kps.onnx")


def test_both_sources_down_names_the_file(tmp_path, monkeypatch, registry_slot):
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(tmp_path / "models"))
    registry_slot(closed_port_url("scrfd_500m_kps.onnx"), "a" * 64)
    with pytest.raises(DownloadError, match="mirror failed too") as err:
        uniface.verify_model_weights(SCRFDWeights.SCRFD_500M_KPS, max_retries=1)
    assert isinstance(err.value, ConnectionError)  # upstream raises ConnectionError


def test_download_models_reports_every_failure(tmp_path, monkeypatch):
    need_shared()
    from uniface.constants import RetinaFaceWeights, YOLOv5FaceWeights

    server_dir = tmp_path / "srv"
    server_dir.mkdir()
    shutil.copyfile(MODELS / "scrfd_500m_kps.onnx", server_dir / "scrfd_500m_kps.onnx")
    sha = hashlib.sha256((server_dir / "scrfd_500m_kps.onnx").read_bytes()).hexdigest()
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(tmp_path / "models"))
    with serve(server_dir) as base:
        monkeypatch.setitem(MODEL_REGISTRY, SCRFDWeights.SCRFD_500M_KPS,
                            ModelInfo(f"{base}/scrfd_500m_kps.onnx", sha, "scrfd_500m_kps.onnx"))  # fmt: skip
        for slot in (RetinaFaceWeights.MNET_025, YOLOv5FaceWeights.YOLOV5N):
            monkeypatch.setitem(MODEL_REGISTRY, slot, ModelInfo(f"{base}/missing.onnx", "b" * 64, f"{slot.value}.onnx"))
        paths = uniface.download_models([SCRFDWeights.SCRFD_500M_KPS], max_workers=2, max_retries=1)
        assert paths == {SCRFDWeights.SCRFD_500M_KPS: str(tmp_path / "models" / "scrfd_500m_kps.onnx")}
        with pytest.raises(RuntimeError, match=r"Failed to download 2 model\(s\)") as err:
            uniface.download_models(
                [SCRFDWeights.SCRFD_500M_KPS, RetinaFaceWeights.MNET_025, YOLOv5FaceWeights.YOLOV5N], max_retries=1
            )
    assert "retinaface_mnet025" in str(err.value) and "yolov5n" in str(err.value)
    with pytest.raises(TypeError, match="max_workers"):
        uniface.download_models([], max_workers="4")


def test_cache_dir_and_file_names(tmp_path, monkeypatch):
    from uniface.constants import MobileFaceWeights, RetinaFaceWeights

    monkeypatch.delenv("UNIFACE_CACHE_DIR")
    assert uniface.get_cache_dir() == str(tmp_path.home() / ".uniface" / "models")
    uniface.set_cache_dir(str(tmp_path))
    assert uniface.get_cache_dir() == str(tmp_path)
    # our earlier releases' name (the URL's basename) is still found ...
    (tmp_path / "retinaface_mv2.onnx").write_bytes(b"x")
    assert uniface.verify_model_weights(RetinaFaceWeights.MNET_V2) == str(tmp_path / "retinaface_mv2.onnx")
    # ... unless upstream repositories share it: mobilenetv2.onnx is MobileFace's and head pose's basename,
    # so only the 4.x name `<value>.onnx` counts (MobileFace MNET_V2's value happens to be "mobilenetv2").
    (tmp_path / "headpose_mobilenetv2.onnx").write_bytes(b"y")
    from uniface.constants import HeadPoseWeights

    assert uniface.verify_model_weights(HeadPoseWeights.MOBILENET_V2).endswith("headpose_mobilenetv2.onnx")
    (tmp_path / "mobilenetv2.onnx").unlink(missing_ok=True)
    assert MODEL_REGISTRY[MobileFaceWeights.MNET_V2].url_name == ""
    other = tmp_path / "other"
    other.mkdir()
    (other / "scrfd_500m.onnx").write_bytes(b"z")
    assert uniface.verify_model_weights(SCRFDWeights.SCRFD_500M_KPS, root=other) == str(other / "scrfd_500m.onnx")
    assert uniface.verify_model_weights("scrfd_500m", root=other) == str(other / "scrfd_500m.onnx")  # a str value
    with pytest.raises(ValueError, match="unknown model"):
        uniface.verify_model_weights("scrfd_5000m")
