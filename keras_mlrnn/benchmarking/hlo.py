"""One reader of XLA's HLO text: the instructions of each computation.

`keras_mlrnn.benchmarking.benchmark` counts the entry computation's operations from it
and `keras_mlrnn.benchmarking.profiling` maps each instruction to the layer it came from.

Example:
```python
from keras_mlrnn.benchmarking.hlo import instructions
text = '''ENTRY %main {
  %p = f32[2] parameter(0)
  ROOT %add.1 = f32[2] add(%p, %p), metadata={op_name="jit(f)/add"}
}'''
[(i.name, i.opcode, i.op_name, i.entry) for i in instructions(text)]
# [('p', 'parameter', None, True), ('add.1', 'add', 'jit(f)/add', True)]
```
"""

import re
from typing import NamedTuple

# `[ROOT] %name = <shape> opcode(...)`; the shape may hold spaces and braces.
_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*.*?\s([a-z][a-z0-9\-]*)\(")
_OP_NAME = re.compile(r'op_name="([^"]*)"')


class Instruction(NamedTuple):
    """One HLO instruction: its name, opcode, origin (`op_name` metadata) and computation."""

    name: str
    opcode: str
    op_name: str | None
    entry: bool  # in the ENTRY computation


def instructions(hlo_text):
    """Every instruction of HLO text, in order, each marked with whether it is in ENTRY."""
    out, in_entry = [], False
    for line in hlo_text.splitlines():
        if line.startswith("ENTRY"):
            in_entry = True
            continue
        if line.startswith("}"):
            in_entry = False
            continue
        match = _INSTRUCTION.match(line)
        if match:
            origin = _OP_NAME.search(line)
            out.append(
                Instruction(match.group(1), match.group(2), origin and origin.group(1), in_entry)
            )
    return out
