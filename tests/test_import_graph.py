"""The package's imports run one way: no circle, each subpackage only what its docstring allows.

Read statically from the source (every `import`, also those inside
functions): `from keras_mlrnn import x` counts as importing the module
`keras_mlrnn.x` when there is one, else the package itself.
"""

import ast
import os
import re

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_mlrnn")


def _modules():
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found[".".join(parts)] = path
    return found


def import_graph():
    """module -> set of keras_mlrnn modules it imports."""
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        with open(path) as f:
            tree = ast.parse(f.read())
        edges = set()
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [
                    f"{node.module}.{a.name}"
                    if f"{node.module}.{a.name}" in modules
                    else node.module
                    for a in node.names
                ]
            edges |= {n for n in names if n in modules and n != module}
        graph[module] = edges
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_hand_made_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_has_no_circle():
    assert _cycles(import_graph()) == []


def may_import(docstring, subpackages):
    """The subpackages an `__init__` docstring's "May import:" line allows (None: no such line)."""
    lines = [line for line in docstring.splitlines()]
    start = next((i for i, line in enumerate(lines) if line.startswith("May import:")), None)
    if start is None:
        return None
    text = lines[start]
    for line in lines[start + 1 :]:  # the sentence may run over several lines
        if not line.strip():
            break
        text += " " + line
    if "any subpackage" in text:
        return set(subpackages)
    sentence = text.split(".")[0]  # names after the first full stop only explain
    return set(re.findall(r"`(\w+)`", sentence)) & set(subpackages)


def test_the_rule_reader_reads_hand_made_docstrings():
    subpackages = {"data", "models", "catalog", "cli"}
    doc = "Owns: x.\nMay import: `data`, `catalog`. Never\n`models`: see below.\n"
    assert may_import(doc, subpackages) == {"data", "catalog"}
    assert may_import("May import: nothing else of keras_mlrnn.", subpackages) == set()
    assert may_import("May import: `data`,\n`catalog`.\n\nMore.", subpackages) == {
        "data",
        "catalog",
    }
    assert may_import("May import: any subpackage.", subpackages) == subpackages
    assert may_import("No rule here.", subpackages) is None


def _top(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package itself


def test_each_subpackage_imports_only_what_its_docstring_allows():
    graph = import_graph()
    tops = {_top(m) for m in graph} - {None}
    subpackages = {t for t in tops if os.path.isdir(os.path.join(PACKAGE, t))}
    wrong = []
    for top in sorted(tops):
        if top in subpackages:
            with open(os.path.join(PACKAGE, top, "__init__.py")) as f:
                allowed = may_import(ast.get_docstring(ast.parse(f.read())) or "", tops)
            assert allowed is not None, f"keras_mlrnn/{top}/__init__.py says nothing it may import"
        else:
            allowed = set()  # a module at the top (catalog, version) stands on nothing
        for module in (m for m in graph if _top(m) == top):
            for imported in graph[module]:
                if _top(imported) != top and _top(imported) not in allowed:
                    wrong.append(f"{module} imports {imported}")
    assert not wrong, wrong


def test_the_top_of_the_package_holds_at_most_six_modules():
    modules = [name for name in os.listdir(PACKAGE) if name.endswith(".py")]
    assert len(modules) <= 6, sorted(modules)


def _sizes(source):
    """(module lines, {function name: lines}) of one module's source."""
    tree = ast.parse(source)
    functions = {
        node.name: node.end_lineno - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    return source.count("\n"), functions, ast.get_docstring(tree) or ""


def test_no_module_over_350_lines_and_no_function_over_60():
    too_long = []
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path) as f:
                lines, functions, _ = _sizes(f.read())
            if lines > 350:
                too_long.append(f"{path}: {lines} lines")
            too_long += [f"{path}: {fn} {n} lines" for fn, n in functions.items() if n > 60]
    assert not too_long, too_long


def test_the_size_reader_counts_a_hand_made_module():
    source = '"""Doc."""\n\n\ndef f():\n' + "    x = 1\n" * 61 + "\n\ndef g():\n    pass\n"
    lines, functions, doc = _sizes(source)
    assert (lines, functions, doc) == (69, {"f": 62, "g": 2}, "Doc.")
