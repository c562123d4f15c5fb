"""The house's import rules, read from the source (ast; no import runs): no module imports back up a cycle,
each Lambda's package imports only itself and flow_common, and the dashboard and the stack's readers never
import the embedded runners (the dashboard image ships without pgserver and psutil)."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Where each top-level package of the repository lives.
PACKAGES = {
    "flow_common": REPO / "lambda_common" / "flow_common",
    "flow_scheduler": REPO / "scheduler_lambda" / "flow_scheduler",
    "flow_worker": REPO / "worker_lambda" / "flow_worker",
    "stackview": REPO / "stackview",
    "embedded": REPO / "embedded",
    "dashboard": REPO / "dashboard",
    "bench": REPO / "bench",
}
# Which of the repository's packages each may import (itself always).
ALLOWED = {
    "flow_common": set(),
    "flow_scheduler": {"flow_common"},
    "flow_worker": {"flow_common"},
    "stackview": {"flow_common", "flow_scheduler"},
    "dashboard": {"flow_common", "flow_scheduler", "stackview"},
    "embedded": {"flow_common", "flow_scheduler", "flow_worker", "stackview"},
    "bench": {"flow_common", "flow_scheduler", "stackview", "embedded"},
}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            found[".".join((package, *parts)).removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The repository modules `name` imports anywhere in its file (a function's lazy import counts too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in known and target != name}
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def test_no_import_cycle():
    edges, cycles, state = graph(), [], {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_each_package_imports_only_what_its_layer_may():
    crossings = sorted(
        f"{module} imports {target}"
        for module, targets in graph().items()
        for target in targets
        if (top := target.split(".")[0]) != module.split(".")[0] and top not in ALLOWED[module.split(".")[0]]
    )
    assert crossings == []


def test_the_dashboard_never_reaches_the_runners():
    """Not directly, nor through what it imports: the embedded package is nowhere below the dashboard."""
    edges = graph()
    seen, todo = set(), [m for m in edges if m.split(".")[0] == "dashboard"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += edges[module]
    assert sorted(m for m in seen if m.split(".")[0] in ("embedded", "bench")) == []
