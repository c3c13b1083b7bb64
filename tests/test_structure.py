"""The package's shape: imports point one way (no cycle, the store below the query stack, the facade
and the app on top), and no module outgrows a stage."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rag_qa"
# What each part may import from inside the package (besides itself); everything else is free to use them.
FOUNDATION = {"config", "errors", "records", "textnorm"}
ALLOWED = {
    # the index files know nothing of models, retrieval or answers; they keep each article's copy fingerprint
    "storage": FOUNDATION | {"copies"},
    "copies": FOUNDATION,
    "boilerplate": set(),  # text rules alone
    "formats": FOUNDATION | {"boilerplate"},
    "ingest": FOUNDATION | {"formats"},
    # answer_types: what a question asks for (text rules alone), whose focus the query encodes
    "retrieval": FOUNDATION | {"storage", "embedding", "bundled", "answer_types"},
    "passages": FOUNDATION | {"embedding", "bundled", "sentences"},
}
# the facade and the apps
TOP = {"pipeline", "build_request", "indexing", "cli", "ui", "chat_service", "evaluation", "news_eval", "__main__"}


def imports() -> dict[str, set[str]]:
    """Module (dotted, without ``rag_qa.``) → the package modules it imports, anywhere in its code."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.with_suffix("").relative_to(PACKAGE).parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"
        package = parts[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = list(package[: len(package) - (node.level - 1)])
                base += node.module.split(".") if node.module else []
                for alias in node.names:
                    candidate = [*base, alias.name]
                    module = candidate if (PACKAGE.joinpath(*candidate).with_suffix(".py")).exists() else base
                    if module:
                        found.add(".".join(module))
        graph[name] = found - {name}
    return graph


def test_the_import_graph_has_no_cycle():
    graph, done, path = imports(), set(), []

    def visit(module: str) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        path.append(module)
        for dependency in graph.get(module, ()):
            visit(dependency)
        path.pop()
        done.add(module)

    for module in graph:
        visit(module)


def test_lower_stages_never_import_higher_ones():
    for module, dependencies in imports().items():
        part = module.split(".")[0]
        outside = {d.split(".")[0] for d in dependencies} - {part}
        if part in ALLOWED:
            assert outside <= ALLOWED[part], (module, outside - ALLOWED[part])
        if part not in TOP and part != "__init__":
            assert not outside & TOP, (module, outside & TOP)


def test_no_module_outgrows_its_stage():
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text("utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    assert max(sizes.values()) <= 330, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
