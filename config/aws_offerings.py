"""Which RDS instance classes and ElastiCache node types AWS offers, per region.

Read from the data cfn-lint ships (its CloudFormation schema extensions, regenerated from AWS's
pricing data with every cfn-lint release) instead of a list of our own. The files are read as
JSON, without importing cfn-lint (its import costs about a second), and only once per process.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

_EXTENSIONS = Path("data") / "schemas" / "extensions"
_RDS_CLASSES = _EXTENSIONS / "aws_rds_dbinstance" / "dbinstanceclass_enum.json"
_CACHE_NODE_TYPES = _EXTENSIONS / "aws_elasticache_cachecluster" / "cachenodetype_enum.json"
_DEPRECATED_VERSIONS = _EXTENSIONS / "aws_rds_dbinstance" / "engine_version_deprecated.json"


def _cfn_lint_file(relative: Path) -> Any:
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("cfn-lint is not installed; run `make setup` (requirements.txt pins it)")
    return json.loads((Path(next(iter(spec.submodule_search_locations))) / relative).read_text(encoding="utf-8"))


@functools.cache
def postgres_instance_classes(region: str) -> frozenset[str]:
    """RDS for PostgreSQL instance classes offered in `region` (empty when cfn-lint has no data for it)."""
    offered: set[str] = set()
    for rule in _cfn_lint_file(_RDS_CLASSES).get(region, {}).get("allOf", []):
        if rule.get("if", {}).get("properties", {}).get("Engine", {}).get("const") == "postgres":
            offered.update(rule["then"]["properties"]["DBInstanceClass"]["enum"])
    return frozenset(offered)


@functools.cache
def cache_node_types(region: str) -> frozenset[str]:
    """ElastiCache node types offered in `region` (empty when cfn-lint has no data for it)."""
    return frozenset(_cfn_lint_file(_CACHE_NODE_TYPES).get(region, {}).get("enum", []))


@functools.cache
def deprecated_postgres_versions() -> frozenset[str]:
    """RDS for PostgreSQL versions RDS no longer creates instances with (minors such as 17.2).

    cfn-lint's list also holds bare majors ("16", "17"); those are not returned here: a major-only
    version resolves to that major's current default minor when the instance is created.
    """
    versions: set[str] = set()
    for rule in _cfn_lint_file(_DEPRECATED_VERSIONS).get("allOf", []):
        properties = rule.get("if", {}).get("properties", {})
        if properties.get("Engine", {}).get("const") == "postgres":
            versions.update(v for v in properties.get("EngineVersion", {}).get("enum", []) if "." in str(v))
    return frozenset(str(v) for v in versions)
