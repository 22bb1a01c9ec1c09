"""Builds the wheel of one family of trained presets, e.g. `keras-mlrnn-voc2007`.

PyPI refuses files over 100 MB, and the real-photo presets with their own
fine-tuned backbones are about 75 MB a family once zipped. So the main
`keras-mlrnn` wheel ships the code, the `scenes` presets and the ImageNet
backbone (`weights/scenes`, `weights/backbones`), and each family in
`FAMILIES` is a wheel of its own: the package `keras_mlrnn_<short>` whose
folder holds `weights/<family>/` as it is in the repository, registered in
the entry-point group `keras_mlrnn.weights` that
`keras_mlrnn.presets.files.weights_search_path` reads. Users install it with
the extra of the same name (`pip install "keras-mlrnn[voc2007]"`).

    python packaging/build_weight_wheel.py voc2007_mobilenet_v2 --out dist

The wheel is built by pip from a temporary project (a generated
`pyproject.toml` beside a copy of the family's folder), so it is a
standard wheel with its RECORD and entry points; nothing in the
repository is written but the wheel in `--out`.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: family folder in weights/ -> the short name of its wheel, package and extra
FAMILIES = {"voc2007_mobilenet_v2": "voc2007", "coco_mobilenet_v2": "coco"}
GROUP = "keras_mlrnn.weights"

PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "keras-mlrnn-{short}"
version = "{version}"
description = "Trained keras-mlrnn presets: {family} (see keras_mlrnn_{short}/README.md)."
requires-python = ">=3.10"
license = {{ text = "Apache-2.0" }}

[project.entry-points."{group}"]
{family} = "keras_mlrnn_{short}"

[tool.setuptools]
packages = ["keras_mlrnn_{short}"]

[tool.setuptools.package-data]
"keras_mlrnn_{short}" = ["README.md", "*/*/*.json", "*/*/*.h5"]
"""


def version():
    """The version of the checkout's keras_mlrnn (the weight wheels carry the same)."""
    scope = {}
    with open(os.path.join(ROOT, "keras_mlrnn", "version.py")) as f:
        exec(f.read(), scope)
    return scope["__version__"]


def build(family, out):
    """Builds `keras-mlrnn-<short>` from `weights/<family>` into `out`; returns the wheel path."""
    if family not in FAMILIES:
        raise SystemExit(f"Unknown family {family!r}; one of {sorted(FAMILIES)}.")
    source = os.path.join(ROOT, "weights", family)
    if not os.path.isdir(source):
        raise SystemExit(f"{source} does not exist: train the family's presets first.")
    short = FAMILIES[family]
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as project:
        package = os.path.join(project, f"keras_mlrnn_{short}")
        shutil.copytree(source, os.path.join(package, family))
        shutil.copy(os.path.join(ROOT, "weights", "README.md"), package)
        with open(os.path.join(package, "__init__.py"), "w") as f:
            f.write(f'"""The trained keras-mlrnn presets {family} (found by keras_mlrnn)."""\n')
        with open(os.path.join(project, "pyproject.toml"), "w") as f:
            f.write(PYPROJECT.format(short=short, family=family, group=GROUP, version=version()))
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                   "-q", "-w", os.path.abspath(out), project]  # fmt: skip
        subprocess.run(command, check=True, cwd=project)
    name = f"keras_mlrnn_{short}-{version()}-py3-none-any.whl"
    return os.path.join(out, name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("families", nargs="+", help=f"of {sorted(FAMILIES)}")
    parser.add_argument("--out", default="dist", help="the folder the wheels go to")
    args = parser.parse_args()
    for family in args.families:
        wheel = build(family, args.out)
        print(f"{wheel}: {os.path.getsize(wheel) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
