"""The README's op-coverage sentence states what the lowering registry holds (kept true, not hand-counted)."""

from __future__ import annotations

import re
from pathlib import Path

from translator.lowering import ops  # noqa: F401  (registers the lowerings)
from translator.lowering.registry import supported_ops

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_op_counts_match_the_registry():
    text = " ".join(README.read_text(encoding="utf-8").split())
    found = re.search(r"Op coverage: (\d+) ONNX ops \((\d+) registered lowerings", text)
    assert found, "README lost its op-coverage sentence"
    registered = supported_ops()
    onnx_ops = [op for domain, op in registered if domain == ""]
    assert (int(found.group(1)), int(found.group(2))) == (len(onnx_ops), len(registered))
