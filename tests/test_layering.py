"""Imports go one way: no module imports one of a higher layer, and no two modules
import each other, directly or round a longer loop.

The layers, lowest first (CONTRIBUTING.md explains them). Every module of
``src/glassnet`` belongs to exactly one: a new module fails
``test_every_module_has_a_layer`` until it is given its place here. Imports are read
from the source with ``ast``, at any depth (an import inside a function is a
dependency like any other); the only ones left out are the lazy re-exports of a
module-level ``__getattr__`` (PEP 562), which hand a higher module's public names
on without any code of the lower module using them, and are listed in
``LAZY_REEXPORTS`` so that a new one is a deliberate choice.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS = [
    ("foundations: formulas, data, buffers",
     ["glassnet._version", "glassnet.flat", "glassnet.activations", "glassnet.losses",
      "glassnet.initializers", "glassnet.schedules", "glassnet.datasets", "glassnet._files"]),
    ("layers", ["glassnet.layers"]),
    ("network", ["glassnet.network", "glassnet.gradcheck"]),
    ("optimisers and the training loop",
     ["glassnet.optimizers", "glassnet.training", "glassnet.curvature", "glassnet.stack"]),
    ("estimators", ["glassnet.estimators"]),
    ("model files", ["glassnet.model_schema", "glassnet.io"]),
    ("around a model: conversions, pictures, tables, search",
     ["glassnet.interop", "glassnet.plots", "glassnet.landscape", "glassnet.dynamics",
      "glassnet.baselines", "glassnet.report", "glassnet.tables", "glassnet.search", "glassnet.advice",
      "glassnet._dask_watchdog", "glassnet.lockstep"]),
    ("the public API", ["glassnet"]),
    ("applications", ["glassnet.playground", "glassnet.cli"]),
    ("entry points", ["glassnet._entry", "glassnet.__main__", "glassnet.cli.__main__",
                      "glassnet.playground.__main__"]),
]

# (module, what its __getattr__ re-exports): glassnet.io.to_onnx and the other
# converters, public since the converters were written, live in glassnet.interop.
LAZY_REEXPORTS = {("glassnet.io", "glassnet.interop")}


def _module_name(path):
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted((SRC / "glassnet").rglob("*.py"))}


def _existing(name):
    """The module ``name`` names, or the module holding the name ``name``."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _lazy_reexport_nodes(tree):
    nodes = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            nodes.update(id(inner) for inner in ast.walk(node))
    return nodes


def imports(module):
    """``{imported module: first line}`` for the glassnet modules ``module`` imports, and
    the modules its ``__getattr__`` re-exports from, as a second dict."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lazy = _lazy_reexport_nodes(tree)
    found, reexported = {}, {}
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            # `from pkg import name`: the submodule when name is one, else pkg itself
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        for target in targets:
            if target == "glassnet" or target.startswith("glassnet."):
                target = _existing(target)
                if target != module:
                    (reexported if id(node) in lazy else found).setdefault(target, node.lineno)
    return found, reexported


def dependencies(module):
    """What ``module`` imports, less the listed lazy re-exports."""
    found, reexported = imports(module)
    kept = {target: line for target, line in reexported.items()
            if (module, _package_of(target)) not in LAZY_REEXPORTS}
    return {**kept, **found}


def _package_of(module):
    """The top-level subpackage or module of glassnet that ``module`` is in."""
    return ".".join(module.split(".")[:2])


def layer_of(module):
    """The index in LAYERS of the most specific entry that names ``module`` or a
    package above it, or None."""
    best, depth = None, -1
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and name.count(".") > depth:
                best, depth = index, name.count(".")
    return best


def test_every_module_has_a_layer():
    missing = [module for module in MODULES if layer_of(module) is None]
    assert not missing, f"give these modules a layer in tests/test_layering.py: {missing}"


def test_no_module_imports_a_higher_layer():
    upward = []
    for module, path in MODULES.items():
        for target, line in dependencies(module).items():
            if layer_of(target) > layer_of(module):
                upward.append(f"{path.relative_to(SRC)}:{line}: {module} "
                              f"({LAYERS[layer_of(module)][0]}) imports {target} "
                              f"({LAYERS[layer_of(target)][0]})")
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_the_listed_lazy_reexports_are_lazy_reexports():
    found = {(module, _package_of(target)) for module in MODULES
             for target in imports(module)[1]}
    assert LAZY_REEXPORTS <= found


def _cycles(graph):
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return components


def test_no_import_cycle():
    graph = {module: sorted(dependencies(module)) for module in MODULES}
    assert _cycles(graph) == []


@pytest.mark.parametrize("graph, expected", [
    ({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}, [["a", "b", "c"]]),
    ({"a": ["b"], "b": [], "c": ["b"]}, []),
])
def test_the_cycle_finder_finds_loops_and_only_loops(graph, expected):
    assert _cycles(graph) == expected


def test_the_import_reader_sees_relative_lazy_and_reexported_imports():
    # _source's describe imports glassnet.io inside a function, two dots up
    assert "glassnet.io" in imports("glassnet.interop._source")[0]
    # `from .. import estimators` is the module, not the package
    assert "glassnet.estimators" in imports("glassnet.interop.sklearn")[0]
    assert set(imports("glassnet.io")[1]) == {"glassnet.interop"}
    assert "glassnet.interop" not in imports("glassnet.io")[0]
