"""The config package's imports: no cycle between its modules, no aws-cdk-lib, the constructs' values.

Config validates an environment file before any construct exists; it must not need the CDK to do so
(aws-cdk-lib starts Node.js), and a section module must be readable on its own, which an import cycle
defeats. The values both config and the constructs check live in platform_constructs.accepted_values;
the last tests keep the copies the database and cache constructs still hold equal to it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from platform_constructs import accepted_values

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"


def _imported_config_modules(path: Path) -> set[str]:
    """Every `config.*` module that `path` imports, at module level, inside functions, or for type checking only."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = node.module
            if module == "config":
                names.update(f"config.{alias.name}" for alias in node.names if (CONFIG / f"{alias.name}.py").exists())
            elif module.startswith("config."):
                names.add(module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("config."))
    return names


def import_graph() -> dict[str, set[str]]:
    """config module -> the config modules it imports (the package's `__init__` included as `config`)."""
    graph = {}
    for path in sorted(CONFIG.glob("*.py")):
        name = "config" if path.stem == "__init__" else f"config.{path.stem}"
        graph[name] = _imported_config_modules(path) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path that returns to its start, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_the_imports_it_must() -> None:
    graph = import_graph()
    assert {"config.rules", "config.services", "config.fields"} <= graph["config.environment"]
    assert "config.environment" in graph["config.loader"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_inside_config() -> None:
    """Counting imports made for type checking and inside functions too: no module needs another that needs it."""
    assert find_cycle(import_graph()) is None


def test_importing_every_config_module_and_validating_loads_no_cdk() -> None:
    """In a fresh interpreter: import config, every module in it, and load every environment."""
    modules = sorted(f"config.{p.stem}" for p in CONFIG.glob("*.py") if p.stem != "__init__")
    script = (
        "import importlib, json, sys\n"
        "import config\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "config.load_environments(config.ENVIRONMENT_NAMES)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'constructs', 'jsii'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600, check=True
    )
    assert json.loads(result.stdout.splitlines()[-1]) == []


# --- the values config checks are the constructs' values ------------------------------------------


def test_postgres_values_are_the_constructs() -> None:
    from platform_constructs import postgres

    assert accepted_values.POSTGRES_INSTANCE_FAMILIES == postgres.GRAVITON_FAMILIES
    assert postgres.DEFAULT_ENGINE_VERSION.postgres_major_version == accepted_values.DEFAULT_POSTGRES_MAJOR


def test_postgres_versions_are_those_aws_cdk_lib_offers() -> None:
    """After an aws-cdk-lib upgrade this names the versions to add to (or drop from) the table."""
    from platform_constructs.postgres import postgres_versions

    offered = postgres_versions()
    assert sorted(offered - accepted_values.POSTGRES_VERSIONS) == [], "add these to POSTGRES_VERSIONS"
    assert sorted(accepted_values.POSTGRES_VERSIONS - offered) == [], "aws-cdk-lib no longer offers these"


def test_cache_values_are_the_constructs() -> None:
    from platform_constructs import redis

    assert accepted_values.CACHE_NODE_FAMILIES == redis.ALLOWED_NODE_FAMILIES
    assert accepted_values.CACHE_ENGINE_VERSIONS == redis.ENGINE_VERSIONS
    assert accepted_values.EVICTION_POLICIES == redis.EVICTION_POLICIES
