"""The package's imports run one way: no circle, and the lower layers never import the upper.

Read statically from the source (every `import`, also those inside
functions): `from keras_mlrnn import x` counts as importing the module
`keras_mlrnn.x` when there is one, else the package itself.
"""

import ast
import os

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_mlrnn")
LOWER = (
    "backbones",
    "presets",
    "preset_files",
    "layers",
    "losses",
    "metrics",
    "data",
    "catalog",
    "run_dir",
    "hlo",
    "evaluation",
)
UPPER = ("models", "runs", "cli", "compare", "benchmark", "training_callbacks")


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


def test_lower_modules_import_nothing_from_the_upper_ones():
    graph = import_graph()
    for module, imports in graph.items():
        parts = module.split(".")
        if len(parts) < 2 or parts[1] not in LOWER:
            continue
        upward = sorted(i for i in imports if len(i.split(".")) > 1 and i.split(".")[1] in UPPER)
        assert not upward, f"{module} imports {upward}"


def _sizes(source):
    """(module lines, {function name: lines}) of one module's source."""
    tree = ast.parse(source)
    functions = {
        node.name: node.end_lineno - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    return source.count("\n"), functions, ast.get_docstring(tree) or ""


def test_long_modules_and_functions_say_why_in_the_module_docstring():
    # The house rule: no module over 350 lines, no function over 60, unless the
    # module's docstring says why (it names the function and its lines).
    unexplained = []
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path) as f:
                lines, functions, doc = _sizes(f.read())
            if lines > 350 and "lines" not in doc:
                unexplained.append(f"{path}: {lines} lines")
            for function, length in functions.items():
                if length > 60 and not (f"`{function}`" in doc and "lines" in doc):
                    unexplained.append(f"{path}: {function} {length} lines")
    assert not unexplained, unexplained


def test_the_size_reader_counts_a_hand_made_module():
    source = '"""Doc."""\n\n\ndef f():\n' + "    x = 1\n" * 61 + "\n\ndef g():\n    pass\n"
    lines, functions, doc = _sizes(source)
    assert (lines, functions, doc) == (69, {"f": 62, "g": 2}, "Doc.")
