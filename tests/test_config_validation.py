"""Every environment file is validated before any construct exists; bad input is named precisely."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from config import CONFIG_DIR, ENVIRONMENT_NAMES, ConfigError, load_environment, load_environments
from config.loader import validate_environment

ROOT = Path(__file__).resolve().parent.parent


def raw(name: str = "dev") -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((CONFIG_DIR / f"{name}.toml").read_text())
    return data


def with_change(base: str, path: str, value: Any) -> dict[str, Any]:
    """A copy of config/<base>.toml with `path` (dotted) set to `value`, or deleted when value is DELETE."""
    data = copy.deepcopy(raw(base))
    *parents, leaf = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return data


DELETE = object()

# (id, base file, dotted key, new value, message the error must contain)
INVALID = [
    ("unknown-top-level-key", "dev", "nat", 1, "dev.toml: nat: unknown key; allowed here: account, availability_zones"),
    ("typo-in-nested-key", "dev", "network.nat_gateway", 1, "network.nat_gateway: unknown key; allowed here: flow_log_retention_days, nat_gateways, vpc_cidr"),
    ("missing-account", "dev", "account", DELETE, "account: required key is missing"),
    ("short-account", "dev", "account", "12345", "account = '12345': String should match pattern '^\\d{12}$'"),
    ("account-as-number", "dev", "account", 111111111111, "account = 111111111111: Input should be a valid string"),
    ("unknown-environment-name", "dev", "name", "qa", "name = 'qa': Input should be 'dev', 'staging' or 'prod'"),
    ("region-not-a-code", "dev", "region", "Seoul", "region = 'Seoul': must be an AWS region code such as ap-northeast-2"),
    ("single-zone", "dev", "availability_zones", ["ap-northeast-2a"], "availability_zones = ['ap-northeast-2a']: Tuple should have at least 2 items"),
    ("zone-of-other-region", "dev", "availability_zones", ["ap-northeast-2a", "us-east-1b"], "availability_zones = 'us-east-1b': each zone must be the region 'ap-northeast-2' followed by one letter"),
    ("repeated-zone", "dev", "availability_zones", ["ap-northeast-2a", "ap-northeast-2a"], "availability_zones = ['ap-northeast-2a', 'ap-northeast-2a']: zones must not repeat"),
    ("cidr-not-a-network", "dev", "network.vpc_cidr", "10.10.0.0/33", "network.vpc_cidr = '10.10.0.0/33': must be an IPv4 network"),
    ("cidr-host-bits", "dev", "network.vpc_cidr", "10.10.1.0/16", "network.vpc_cidr = '10.10.1.0/16': must be an IPv4 network"),
    ("cidr-public-range", "dev", "network.vpc_cidr", "8.8.0.0/16", "network.vpc_cidr = '8.8.0.0/16': must lie inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"),
    ("cidr-prefix-too-long", "dev", "network.vpc_cidr", "10.10.0.0/24", "network.vpc_cidr = '10.10.0.0/24': prefix length must be between /16 and /20, got /24"),
    ("cidr-too-small-for-zones", "staging", "network.vpc_cidr", "10.20.0.0/20", "network.vpc_cidr = '10.20.0.0/20': too small for 3 zones"),
    ("no-nat", "dev", "network.nat_gateways", 0, "network.nat_gateways = 0: Input should be greater than or equal to 1"),
    ("nat-as-string", "dev", "network.nat_gateways", "1", "network.nat_gateways = '1': Input should be a valid integer"),
    ("nat-as-bool", "dev", "network.nat_gateways", True, "network.nat_gateways = True: Input should be a valid integer"),
    ("more-nat-than-zones", "dev", "network.nat_gateways", 3, "network.nat_gateways = 3: at most one per availability zone (1-2)"),
    ("prod-single-nat", "prod", "network.nat_gateways", 1, "network.nat_gateways = 1: prod needs one NAT gateway per availability zone (3)"),
    ("unsupported-retention", "dev", "network.flow_log_retention_days", 45, "network.flow_log_retention_days = 45: must be one of the retention periods CloudWatch Logs accepts: [1, 3, 5"),
    ("missing-owner-tag", "dev", "tags", {"CostCenter": "x"}, "tags = {'CostCenter': 'x'}: missing required tag(s) ['Owner']"),
    ("reserved-tag", "dev", "tags", {"CostCenter": "x", "Owner": "y", "Project": "z"}, "'Project' is set by the app itself; remove it"),
    ("aws-prefixed-tag", "dev", "tags", {"CostCenter": "x", "Owner": "y", "aws:foo": "z"}, "'aws:foo': the aws: prefix is reserved by AWS"),
    ("empty-tag-value", "dev", "tags", {"CostCenter": "", "Owner": "y"}, "CostCenter='': a tag value is 1-256 letters"),
    ("tags-not-a-table", "dev", "tags", "CostCenter=x", "tags = 'CostCenter=x': Input should be a valid dictionary"),
    # data tier: settings that would lose or endanger data
    ("no-backups", "dev", "database.backup_retention_days", 0, "database.backup_retention_days = 0: 1-35: automated backups are what point-in-time restore and read replicas depend on"),
    ("backups-beyond-limit", "dev", "database.backup_retention_days", 36, "database.backup_retention_days = 36: Input should be less than or equal to 35"),
    ("too-many-replicas", "dev", "database.read_replicas", 6, "database.read_replicas = 6: at most 5 read replicas per primary on this platform (RDS for PostgreSQL itself stops at 15)"),
    ("prod-one-replica", "prod", "database.read_replicas", 1, "database.read_replicas = 1: prod needs at least 2 read replicas, in different availability zones"),
    ("prod-single-az-database", "prod", "database.multi_az", False, "database.multi_az = False: prod must survive the loss of an availability zone: set true"),
    ("prod-single-az-cache", "prod", "cache.multi_az", False, "cache.multi_az = False: prod must survive the loss of an availability zone: set true"),
    ("prod-unprotected-database", "prod", "database.deletion_protection", False, "database.deletion_protection = False: prod databases must have deletion protection: set true"),
    ("unknown-db-family", "dev", "database.instance_class", "db.m5.large", "database.instance_class = 'db.m5.large': unknown or non-Graviton instance family 'm5'; allowed: ['t4g', 'm6g', 'm7g', 'm8g', 'r6g', 'r7g', 'r8g']"),
    ("db-class-without-prefix", "dev", "database.replica_instance_class", "r7g.large", "database.replica_instance_class = 'r7g.large': must look like db.r7g.large"),
    ("storage-ceiling-too-low", "dev", "database.max_allocated_storage_gib", 21, "database.max_allocated_storage_gib = 21: storage autoscaling needs a ceiling at least 10% above allocated_storage_gib (20): 22 or more"),
    ("storage-below-minimum", "dev", "database.allocated_storage_gib", 10, "database.allocated_storage_gib = 10: Input should be greater than or equal to 20"),
    ("pool-overflow-beyond-max", "dev", "database.pool.max_overflow", 40, "database.pool.max_overflow = 40: pool_size + max_overflow (20 + 40) must not exceed max_connections (50)"),
    ("pool-min-above-max", "dev", "database.pool.min_connections", 60, "database.pool.min_connections = 60: must not exceed max_connections (50)"),
    ("pool-key-typo", "dev", "database.pool.pool_timeout", 30, "database.pool.pool_timeout: unknown key; allowed here: max_connections, max_overflow, min_connections, pool_recycle_seconds, pool_size, pool_timeout_seconds, pre_ping"),
    ("proxy-idle-above-max", "dev", "database.proxy.max_idle_connections_percent", 95, "database.proxy.max_idle_connections_percent = 95: must not exceed max_connections_percent (90)"),
    ("proxy-zero-borrow-timeout", "dev", "database.proxy.borrow_timeout_seconds", 0, "database.proxy.borrow_timeout_seconds = 0: Input should be greater than or equal to 1"),
    ("unknown-cache-family", "dev", "cache.node_type", "cache.r5.large", "cache.node_type = 'cache.r5.large': unknown or non-Graviton instance family 'r5'"),
    ("cache-without-replica", "dev", "cache.replicas", 0, "cache.replicas = 0: Input should be greater than or equal to 1"),
    ("cache-too-many-replicas", "dev", "cache.replicas", 6, "cache.replicas = 6: ElastiCache allows at most 5 replicas per shard"),
    ("unknown-eviction-policy", "dev", "cache.maxmemory_policy", "lru", "cache.maxmemory_policy = 'lru': unknown eviction policy; allowed: ['volatile-lru', 'allkeys-lru'"),
    ("unknown-cache-engine", "dev", "cache.engine", "memcached", "cache.engine = 'memcached': Input should be 'valkey' or 'redis'"),
    ("cache-log-retention", "dev", "cache.log_retention_days", 10, "cache.log_retention_days = 10: must be one of the retention periods CloudWatch Logs accepts"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("base", "key", "value", "message"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_config_is_rejected_with_a_message_naming_key_value_and_rule(
    base: str, key: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_environment(with_change(base, key, value), source=f"{base}.toml", expected_name=base)
    problems = "\n".join(caught.value.problems)
    assert message in problems
    assert all(p.startswith(f"{base}.toml: ") for p in caught.value.problems)


def test_table_covers_at_least_fifteen_distinct_problems() -> None:
    assert len({case[4] for case in INVALID}) >= 15


def test_file_name_and_name_key_must_agree() -> None:
    with pytest.raises(ConfigError, match=r"name = 'dev': must match the file name \('staging'\)"):
        validate_environment(raw("dev"), source="staging.toml", expected_name="staging")


def test_every_problem_is_reported_at_once() -> None:
    data = with_change("dev", "account", "x")
    data["network"]["nat_gateways"] = 0
    with pytest.raises(ConfigError) as caught:
        validate_environment(data, source="dev.toml")
    assert len(caught.value.problems) == 2


def test_unknown_environment_lists_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match=r"environment 'qa' is unknown; choose one of \['dev', 'staging', 'prod'\]"):
        load_environment("qa")


def test_broken_toml_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "dev.toml").write_text('name = "dev"\naccount = \n')
    with pytest.raises(ConfigError, match=r"dev.toml: not valid TOML: .*line 2"):
        load_environment("dev", tmp_path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"prod.toml: file not found"):
        load_environments(["prod"], tmp_path)


def test_committed_files_are_valid_and_frozen() -> None:
    configs = load_environments(ENVIRONMENT_NAMES)
    assert [c.name for c in configs] == ["dev", "staging", "prod"]
    with pytest.raises(Exception, match="frozen"):
        configs[0].network.__setattr__("nat_gateways", 2)


def run_app(tmp_path: Path, context: str) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(CDK_OUTDIR=str(out), CDK_CONTEXT_JSON=context)
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_app_refuses_bad_config_without_traceback_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "config"
    bad.mkdir()
    (bad / "dev.toml").write_text((CONFIG_DIR / "dev.toml").read_text().replace("nat_gateways = 1", "nat_gateways = 5"))
    result = run_app(tmp_path, f'{{"env": "dev", "config_dir": "{bad}"}}')
    assert result.returncode == 2
    assert "network.nat_gateways = 5: at most one per availability zone (1-2)" in result.stderr
    assert "Traceback" not in result.stderr
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())


def test_app_refuses_an_unknown_environment(tmp_path: Path) -> None:
    result = run_app(tmp_path, '{"env": "qa"}')
    assert result.returncode == 2
    assert "environment 'qa' is unknown; choose one of ['dev', 'staging', 'prod']" in result.stderr
    assert "Traceback" not in result.stderr
