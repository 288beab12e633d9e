"""Import boundaries of the layer, read from the source with ``ast`` (nothing is imported).

``sagedrop.aws`` is the bottom of the layer: adapters that any part may use, so it may not import
the parts that use it (an adapter that imported a domain package would drag it, and its
dependencies, into every Lambda that talks to AWS, and invite import cycles). ``sagedrop.dataset``
may not import ``sagedrop.evaluation``: preparing data must not depend on scoring it. Imports are
followed transitively, and importing ``a.b.c`` also runs ``a/__init__.py`` and ``a/b/__init__.py``.
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

import pytest

LAYER = Path(__file__).parents[3] / "layers" / "sagedrop"

RULES = {
    # importer package: packages it may not reach
    "sagedrop.aws": ("sagedrop.evaluation", "sagedrop.dataset", "sagedrop.pipeline", "sagedrop.cleanup"),
    "sagedrop.dataset": ("sagedrop.evaluation",),
}


def modules_under(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of ``package`` found below ``root``."""
    found = {}
    for path in (root / package.replace(".", "/")).rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules ``name`` imports anywhere in its source (also inside functions)."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            targets.add(base)
            # ``from pkg import mod`` imports the submodule pkg.mod when there is one.
            targets.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known)
    with_parents = set()
    for target in targets:
        parts = target.split(".")
        with_parents.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {module for module in with_parents if module in known and module != name}


def forbidden_chains(root: Path, importer: str, forbidden: tuple[str, ...]) -> list[str]:
    """For each module of ``importer`` that reaches a forbidden module: the import chain, as text."""
    known = modules_under(root, importer.split(".")[0])
    graph = {name: imports_of(name, path, known) for name, path in known.items()}

    def inside(module: str, package: str) -> bool:
        return module == package or module.startswith(package + ".")

    chains = []
    for start in sorted(m for m in known if inside(m, importer)):
        came_from: dict[str, str | None] = {start: None}
        queue = deque([start])
        while queue:
            module = queue.popleft()
            if any(inside(module, package) for package in forbidden):
                chain = [module]
                while came_from[chain[-1]] is not None:
                    chain.append(came_from[chain[-1]])
                chains.append(" -> ".join(reversed(chain)))
                break
            for target in sorted(graph[module]):
                if target not in came_from:
                    came_from[target] = module
                    queue.append(target)
    return chains


@pytest.mark.parametrize("importer", list(RULES))
def test_the_layer_respects_its_import_boundaries(importer):
    chains = forbidden_chains(LAYER, importer, RULES[importer])
    assert chains == [], f"{importer} may not import {', '.join(RULES[importer])}:\n" + "\n".join(chains)


# --- the walker itself, on a small package written for the purpose -------------------------------------------
@pytest.fixture
def fake_layer(tmp_path) -> Path:
    files = {
        "pkg/__init__.py": "",
        "pkg/low/__init__.py": "from . import util\n",
        "pkg/low/util.py": "import json\n\ndef lazy():\n    from ..mid import helpers\n",
        "pkg/low/clean.py": "from pkg.shared import VALUE\n",
        "pkg/mid/__init__.py": "",
        "pkg/mid/helpers.py": "from pkg.high.thing import X\n",
        "pkg/high/__init__.py": "",
        "pkg/high/thing.py": "X = 1\n",
        "pkg/shared.py": "VALUE = 1\n",
    }
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    return tmp_path


def test_the_walker_follows_relative_lazy_and_transitive_imports(fake_layer):
    chains = forbidden_chains(fake_layer, "pkg.low", ("pkg.high",))
    assert chains == [
        "pkg.low -> pkg.low.util -> pkg.mid.helpers -> pkg.high",  # pkg.high.thing runs pkg/high first
        "pkg.low.util -> pkg.mid.helpers -> pkg.high",
    ]
    assert forbidden_chains(fake_layer, "pkg.low.clean", ("pkg.high",)) == []


def test_importing_a_submodule_runs_its_packages_init(fake_layer):
    (fake_layer / "pkg" / "shared.py").write_text("")
    (fake_layer / "pkg" / "mid" / "__init__.py").write_text("from pkg.high import thing\n")
    (fake_layer / "pkg" / "low" / "clean.py").write_text("import pkg.mid.other\n")
    (fake_layer / "pkg" / "mid" / "other.py").write_text("")
    assert forbidden_chains(fake_layer, "pkg.low.clean", ("pkg.high",)) == ["pkg.low.clean -> pkg.mid -> pkg.high"]
