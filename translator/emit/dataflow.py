"""What a lowered call reads: the one place the module back end asks.

Scopes, the module tree, block types and repeated runs all follow the values
calls read and write. A call that carries nested blocks (control flow) must
report here every outer value its blocks read.
"""

from __future__ import annotations

from opset.program import Block, Call, refs_in


def reads(call: Call) -> list[str]:
    """Names of the values (and weights) `call` reads, in argument order, repeats included.

    For control flow, what its blocks read from outside themselves follows the arguments,
    in the order the blocks first read it.
    """
    names = refs_in(call.args) + refs_in(call.kwargs)
    for block in call.blocks:
        names += _outer_reads(block)
    return names


def _outer_reads(block: Block) -> list[str]:
    defined = set(block.params)
    outside: list[str] = []
    for c in block.calls:
        outside += [n for n in reads(c) if n not in defined]
        defined.update(c.outputs)
    return outside + [n for n in refs_in(block.results) if n not in defined]
