"""Writing files whole: a kill while writing leaves the previous file, never half of one."""

import json
import os


def replace_text(path, text):
    """Writes `text` to `path` through a `.partial` file, so a kill leaves the old one whole."""
    with open(path + ".partial", "w") as f:
        f.write(text)
    os.replace(path + ".partial", path)


def write_json(path, value):
    """`value` as indented JSON at `path`, replaced whole (`replace_text`)."""
    replace_text(path, json.dumps(value, indent=2))
