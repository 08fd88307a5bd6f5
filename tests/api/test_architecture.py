"""Rules of the code base that import-linter cannot state: no domain reaches into another's
private names, modules stay small, and the journey needs no type escapes."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "cartrack"
SOURCES = sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.parts)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def domain(module: str) -> str:
    """cartrack.journey.engine -> journey; cartrack.db -> db."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def cross_domain_private_uses(source: str, here: str) -> list[str]:
    tree = ast.parse(source)
    found: list[str] = []
    modules: dict[str, str] = {}  # local name -> cartrack module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cartrack"):
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if (ROOT.parent / target.replace(".", "/")).with_suffix(".py").exists():
                    modules[alias.asname or alias.name] = target
                elif private(alias.name) and domain(node.module) != domain(here):
                    found.append(f"{here} imports {node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("cartrack") and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in modules and private(node.attr)
                and domain(modules[node.value.id]) != domain(here)):
            found.append(f"{here} uses {modules[node.value.id]}.{node.attr}")
    return found


def test_no_module_reaches_into_another_domains_private_names() -> None:
    found = [use for path in SOURCES
             for use in cross_domain_private_uses(path.read_text(), module_name(path))]
    assert not found, found


def test_the_check_sees_a_private_import() -> None:
    sample = ("from cartrack.labels.render import _pdf_fonts\n"
              "from cartrack import security as sec\nsec._bearer_token\n"
              "from cartrack.journey.guards import _window_text\n")
    assert len(cross_domain_private_uses(sample, "cartrack.scans.report")) == 3
    assert len(cross_domain_private_uses(sample, "cartrack.labels.fonts")) == 2


def test_no_module_is_over_500_lines() -> None:
    long = {module_name(p): n for p in SOURCES if (n := len(p.read_text().splitlines())) > 500}
    assert not long, long


def test_the_journey_needs_no_type_escapes() -> None:
    escapes = [f"{p.name}:{i}" for p in SOURCES if "journey" in p.parts
               for i, line in enumerate(p.read_text().splitlines(), 1) if "type: ignore" in line]
    assert not escapes, escapes
