"""Start a two-stage run from another run's finished head (stage 1), changing stage-2 options.

    python benchmarks/reuse_head.py SOURCE_RUN NEW_RUN fine_tune_image_size=448 ...

Writes NEW_RUN/run_config.json (SOURCE_RUN's, with the given `fine_tune_*`
options and a command that says so) and copies SOURCE_RUN/head; then
`keras-mlrnn train --resume NEW_RUN` reuses that head and runs stage 2. Only
stage-2 options may change: the head is the same training either way.
"""

import json
import os
import shutil
import sys

from keras_mlrnn.training.run_dir import RunDirectory


def main(source, target, *assignments):
    changes = {}
    for item in assignments:
        key, _, value = item.partition("=")
        if not key.startswith("fine_tune_"):
            raise SystemExit(f"only fine_tune_* options may change; got {key!r}")
        changes[key] = json.loads(value)
    source, new = RunDirectory(source), RunDirectory(target)
    if not source.head.is_finished():
        raise SystemExit(f"{source.head.path} is not a finished head.")
    if os.path.exists(new.path):
        raise SystemExit(f"{new.path} exists; nothing was written.")
    config = {**source.read_config(), **changes}
    config["command"] = (
        f"python benchmarks/reuse_head.py {source.path} {new.path} {' '.join(assignments)} "
        f"&& keras-mlrnn train --resume {new.path}  # head of: {config['command']}"
    )
    os.makedirs(new.path)
    shutil.copytree(source.head.path, new.head.path)
    new.write_config(config)


if __name__ == "__main__":
    main(*sys.argv[1:])
