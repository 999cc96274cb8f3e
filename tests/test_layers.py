"""The package's layers (DESIGN.md): every module imports only from its own layer or below, and no import
cycles. Reads the imports with ``ast`` (function-level imports count too)."""

import ast
import pathlib

import pinnsight

ROOT = pathlib.Path(pinnsight.__file__).parent

#: lowest first; a module's layer is that of its longest matching prefix
LAYERS = (
    ("errors", "atomic", "spec", "keys", "precision", "jsonio", "progress", "derivatives", "threads"),
    ("reference",),
    ("problems", "geometry", "data", "observations"),
    ("sampling", "hard.linear"),
    ("models",),
    ("losses", "gradients", "kernels", "evaluation", "nodes"),
    ("optimizers",),
    ("remedies",),
    ("config",),
    ("trainer",),
    ("diagnostics",),
    ("escalation",),
    ("planner",),
    ("runs", "plots", "figures", "hard.family", "hard", "run_diagnosis", "training", "predict"),
    ("bench", "cli", "__init__"),
)


def module_names():
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        yield ".".join(parts) or "__init__", path


def layer_of(module: str) -> int:
    best, rank = -1, None
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, rank = len(name), i
    assert rank is not None, f"module {module} is in no layer: add it to LAYERS"
    return rank


def imports_of(module: str, path: pathlib.Path) -> set[str]:
    """pinnsight modules imported by ``module`` (relative and absolute), without the package prefix."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    if module == "__init__":
        package = []
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("pinnsight"):
                target = node.module[len("pinnsight."):] if node.module != "pinnsight" else ""
            else:
                continue
            for alias in node.names:
                full = f"{target}.{alias.name}" if target else alias.name
                out.add(full if (ROOT / (full.replace(".", "/") + ".py")).exists()
                        or (ROOT / full.replace(".", "/")).is_dir() else target)
        elif isinstance(node, ast.Import):
            out |= {a.name[len("pinnsight."):] for a in node.names if a.name.startswith("pinnsight.")}
    return {m for m in out if m and m != module}


def graph():
    return {m: imports_of(m, p) for m, p in module_names()}


def test_no_module_imports_from_a_layer_above_it():
    upward = []
    for module, targets in graph().items():
        for t in targets:
            if layer_of(t) > layer_of(module):
                upward.append(f"{module} (layer {layer_of(module)}) imports {t} (layer {layer_of(t)})")
    assert not upward, "\n".join(sorted(upward))


def test_no_import_cycles():
    g = graph()
    # a package's __init__ re-exporting its children is not a cycle with them
    edges = {m: {t for t in ts if not (m != "__init__" and t.startswith(m + ".") and (ROOT / m.replace(".", "/")).is_dir())}
             for m, ts in g.items()}
    state, stack, cycles = {}, [], []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if state.get(w) == 1:
                cycles.append(stack[stack.index(w):] + [w])
            elif w not in state:
                visit(w)
        stack.pop()
        state[v] = 2

    for v in edges:
        if v not in state:
            visit(v)
    assert not cycles, cycles


def test_the_layer_reader_sees_an_upward_import(tmp_path):
    """The checker itself: a module of a low layer importing the trainer is reported."""
    fake = tmp_path / "bad.py"
    fake.write_text("from ..trainer import train\n")
    assert "trainer" in imports_of("problems.bad", fake)
    assert layer_of("trainer") > layer_of("problems.bad")
