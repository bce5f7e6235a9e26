"""The import rules of the README's "Architecture" section, checked on the source.

Every import counts, including those inside functions and under ``TYPE_CHECKING``: a
lazy import hides a dependency from Python's loader, not from a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Bottom to top: a package may import itself and the packages before it, never one after.
# "assistant" stands for the foundation modules at the package root (errors, settings, ...).
LAYERS = (
    "assistant",
    "assistant.storage",
    "assistant.access",
    "assistant.models",
    "assistant.knowledge",
    "assistant.answering",
    "assistant.events",
    "assistant.learning",
    "assistant.tips",
    "assistant.health",
    "assistant.insights",
    "assistant.chat",
    "assistant.copilot",
    "assistant.services",
    "assistant.app",
    "assistant.cli",
)
# Only the command line wires the library to the ingest pipeline and the eval harness.
OUTER_EDGE = "assistant.cli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, as dotted names (``from a import b`` counts ``a``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # ``from assistant.knowledge import base`` imports the module ``base``
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _sources(package: str) -> dict[str, set[str]]:
    return {
        _module_name(path): _imports(path)
        for path in sorted((ROOT / package).rglob("*.py"))
    }


ASSISTANT = _sources("assistant")
INGEST = _sources("ingest")
MODULES = set(ASSISTANT) | set(INGEST)


def _package(module: str) -> str:
    """The layer a module of ours belongs to (its subpackage, or the root's foundation)."""
    parts = module.split(".")
    if parts[0] != "assistant" or len(parts) == 1:
        return parts[0]
    candidate = ".".join(parts[:2])
    return candidate if candidate in LAYERS else "assistant"


def _ours(imported: str) -> str | None:
    """The module of ours that an import names, or None for third-party ones."""
    while imported and imported not in MODULES:
        imported = imported.rpartition(".")[0]
    return imported or None


def test_every_assistant_subpackage_has_a_layer() -> None:
    packages = {_package(m) for m in ASSISTANT}
    subpackages = {
        f"assistant.{p.name}" for p in (ROOT / "assistant").iterdir()
        if (p / "__init__.py").exists()
    }
    assert subpackages <= set(LAYERS), f"give these a layer: {sorted(subpackages - set(LAYERS))}"
    assert packages <= set(LAYERS)


def test_packages_only_import_the_layers_below_them() -> None:
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = sorted({
        f"{module} imports {target}"
        for module, imports in ASSISTANT.items()
        for target in filter(None, map(_ours, imports))
        if target.startswith("assistant") and rank[_package(target)] > rank[_package(module)]
    })
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_the_library_never_imports_ingest_or_evals() -> None:
    """Ingest depends on the assistant, never the reverse; only the CLI wires the two."""
    crossing = sorted(
        f"{module} imports {target}"
        for module, imports in ASSISTANT.items()
        if not module.startswith(OUTER_EDGE)
        for target in imports
        if target.split(".")[0] in {"ingest", "evals"}
    )
    assert not crossing, "\n".join(crossing)


def test_routers_never_import_each_other() -> None:
    crossing = sorted({
        f"{module} imports {target}"
        for module, imports in ASSISTANT.items()
        if module.startswith("assistant.app.routes.")
        for target in filter(None, map(_ours, imports))
        if target.startswith("assistant.app.routes.") and target != module
    })
    assert not crossing, "\n".join(crossing)


def test_only_the_app_factory_mounts_routers() -> None:
    importers = sorted(
        module
        for module, imports in ASSISTANT.items()
        if not module.startswith("assistant.app.routes")
        and any((_ours(t) or "").startswith("assistant.app.routes.") for t in imports)
    )
    assert importers == ["assistant.app.factory"], importers


def test_no_module_import_cycles() -> None:
    graph = {
        module: {t for t in map(_ours, imports) if t and t != module}
        for module, imports in (ASSISTANT | INGEST).items()
    }
    # packages' __init__ modules are docstrings only; an import of a submodule names them
    graph = {m: {t for t in ts if t in graph and not _is_package(t)} for m, ts in graph.items()}
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def _is_package(module: str) -> bool:
    return (ROOT / module.replace(".", "/") / "__init__.py").exists()


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None
