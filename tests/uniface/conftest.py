"""Shared fixtures: paths to ../shared, stand-in models, backend-pair construction."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
MODELS = SHARED / "models"
IMAGES = SHARED / "images"


def real_images() -> list[Path]:
    return sorted(IMAGES.glob("*.jpg"))


def need_shared() -> None:
    if not MODELS.is_dir() or not IMAGES.is_dir():
        pytest.skip(f"shared models/images not found at {SHARED}")


@pytest.fixture(scope="session")
def standins(tmp_path_factory) -> Path:
    """All stand-in ONNX models (random weights), built once per test session."""
    from tools.standins import write

    out = tmp_path_factory.mktemp("standins")
    write(out)
    return out


@pytest.fixture(scope="session")
def translation_cache(tmp_path_factory) -> Path:
    """One UNIFACE_CACHE_DIR per session, so MLX translations are reused between tests."""
    return tmp_path_factory.mktemp("uniface-cache")


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch, translation_cache):
    """Each test: the session's cache folder, no forced backend, and no way to reach the network.

    Downloads fall back to upstream's Hugging Face mirror; tests point it at a
    closed local port (tests that exercise the mirror serve it on 127.0.0.1).
    """
    import uniface.constants
    import uniface.model_store

    from ..runtime.test_download import closed_port_url

    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(translation_cache))
    monkeypatch.delenv("UNIFACE_BACKEND", raising=False)
    monkeypatch.setattr(uniface.constants, "HF_MIRROR_URL", closed_port_url("mirror").rsplit("/", 1)[0])
    monkeypatch.setattr(uniface.model_store, "RETRY_DELAY_S", 0.0)


def build_pair(factory, **kwargs):
    """(mlx_model, onnx_model) from `factory(backend=..., **kwargs)`; a model MLX cannot translate fails the test."""
    onnx_model = factory(backend="onnx", **kwargs)
    mlx_model = factory(backend="mlx", **kwargs)
    assert mlx_model.backend == "mlx" and onnx_model.backend == "onnx"
    return mlx_model, onnx_model
