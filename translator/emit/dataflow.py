"""What a lowered call reads: the one place the module back end asks.

Scopes, the module tree, block types and repeated runs all follow the values
calls read and write. A call that carries nested blocks (control flow) must
report here every outer value its blocks read.
"""

from __future__ import annotations

from opset.program import Call, refs_in


def reads(call: Call) -> list[str]:
    """Names of the values (and weights) `call` reads, in argument order, repeats included."""
    return refs_in(call.args) + refs_in(call.kwargs)
