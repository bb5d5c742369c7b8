"""Translator output for the model zoo. Never edited by hand: see tools/regenerate.py.

Each module is a plain `mlx.nn.Module` whose header names its source model's
sha256. Weights are not stored here: runtime.models derives them from the
ONNX file at run time (and caches them).
"""
