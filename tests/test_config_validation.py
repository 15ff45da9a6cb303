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
    ("short-account", "dev", "account", "12345", "account = '12345': must be the 12-digit account id, digits 0-9 only, in quotes"),
    ("account-as-number", "dev", "account", 111111111111, "account = 111111111111: must be text in quotes, got a whole number"),
    ("unknown-environment-name", "dev", "name", "qa", "name = 'qa': must be one of 'dev', 'staging', 'prod'"),
    ("region-not-a-code", "dev", "region", "Seoul", "region = 'Seoul': not an AWS region code in config/aws_regions.py"),
    ("single-zone", "dev", "availability_zones", ["ap-northeast-2a"], "availability_zones = ['ap-northeast-2a']: must be a list of 2 to 6 zone names of the region"),
    ("zone-of-other-region", "dev", "availability_zones", ["ap-northeast-2a", "us-east-1b"], "availability_zones[1] = 'us-east-1b': not an availability zone of ap-northeast-2; its zones are ap-northeast-2a, ap-northeast-2b, ap-northeast-2c, ap-northeast-2d"),
    ("repeated-zone", "dev", "availability_zones", ["ap-northeast-2a", "ap-northeast-2a"], "availability_zones = ['ap-northeast-2a', 'ap-northeast-2a']: zones must not repeat"),
    ("cidr-not-a-network", "dev", "network.vpc_cidr", "10.10.0.0/33", "network.vpc_cidr = '10.10.0.0/33': must be an IPv4 network"),
    ("cidr-host-bits", "dev", "network.vpc_cidr", "10.10.1.0/16", "network.vpc_cidr = '10.10.1.0/16': must be an IPv4 network"),
    ("cidr-public-range", "dev", "network.vpc_cidr", "8.8.0.0/16", "network.vpc_cidr = '8.8.0.0/16': must lie inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"),
    ("cidr-prefix-too-long", "dev", "network.vpc_cidr", "10.10.0.0/24", "network.vpc_cidr = '10.10.0.0/24': prefix length must be /16 to /18 (anything smaller than /18 has no room for two zones of subnets), got /24"),
    ("cidr-prefix-19", "staging", "network.vpc_cidr", "10.20.0.0/19", "network.vpc_cidr = '10.20.0.0/19': prefix length must be /16 to /18"),
    ("reserved-concurrency-negative", "prod", "reserved_concurrency.database_maintenance", -1, "reserved_concurrency.database_maintenance = -1: must be 0 to 1000 concurrent executions, 0 for none"),
    ("reserved-concurrency-too-high", "staging", "reserved_concurrency.secret_rotation", 1001, "reserved_concurrency.secret_rotation = 1001: must be 0 to 1000 concurrent executions, 0 for none"),
    ("reserved-concurrency-unknown-function", "dev", "reserved_concurrency.rotation", 1, "reserved_concurrency.rotation: unknown key; allowed here: commitment_coverage, database_bootstrap, database_maintenance, restore_drill, secret_rotation, unused_resources"),
    ("reserved-concurrency-as-text", "prod", "reserved_concurrency.database_maintenance", "1", "reserved_concurrency.database_maintenance = '1': must be a whole number, e.g. 3 (no quotes), got text"),
    ("no-nat", "dev", "network.nat_gateways", 0, "network.nat_gateways = 0: must be 1 to one per availability zone"),
    ("nat-as-string", "dev", "network.nat_gateways", "1", "network.nat_gateways = '1': must be a whole number, e.g. 3 (no quotes), got text"),
    ("nat-as-bool", "dev", "network.nat_gateways", True, "network.nat_gateways = true: must be a whole number, e.g. 3 (no quotes), got true/false"),
    ("more-nat-than-zones", "dev", "network.nat_gateways", 3, "network.nat_gateways = 3: must be 1 to 2: at least one, at most one per availability zone"),
    ("prod-single-nat", "prod", "network.nat_gateways", 1, "network.nat_gateways = 1: prod needs one NAT gateway per availability zone (3)"),
    ("unsupported-retention", "dev", "network.flow_log_retention_days", 45, "network.flow_log_retention_days = 45: must be one of the retention periods CloudWatch Logs accepts (days): 1, 3, 5, 7"),
    ("missing-owner-tag", "dev", "tags", {"CostCenter": "x"}, "tags = {table}: missing required tag(s) ['Owner']"),
    ("reserved-tag", "dev", "tags", {"CostCenter": "x", "Owner": "y", "Project": "z"}, "tags.Project = 'z': the key is set by the app itself (Project; IAM compares tag keys without case): remove it"),
    ("aws-prefixed-tag", "dev", "tags", {"CostCenter": "x", "Owner": "y", "aws:foo": "z"}, 'tags."aws:foo" = \'z\': the aws: prefix is reserved by AWS in tag keys'),
    ("empty-tag-value", "dev", "tags", {"CostCenter": "", "Owner": "y"}, "tags.CostCenter = '': a tag value is 1 to 256 characters long, got 0"),
    ("tags-not-a-table", "dev", "tags", "CostCenter=x", "tags = 'CostCenter=x': must be a table ([section] or { key = value }), got text"),
    # data tier: settings that would lose or endanger data
    ("no-backups", "dev", "database.backup_retention_days", 0, "database.backup_retention_days = 0: must be 1 to 35 days"),
    ("backups-beyond-limit", "dev", "database.backup_retention_days", 36, "database.backup_retention_days = 36: must be 1 to 35 days"),
    ("too-many-replicas", "dev", "database.read_replicas", 6, "database.read_replicas = 6: must be 0 to 5"),
    ("prod-one-replica", "prod", "database.read_replicas", 1, "database.read_replicas = 1: prod needs at least 2 read replicas, in different availability zones"),
    ("prod-single-az-database", "prod", "database.multi_az", False, "database.multi_az = false: prod must survive the loss of an availability zone: set true"),
    ("prod-single-az-cache", "prod", "cache.multi_az", False, "cache.multi_az = false: prod must survive the loss of an availability zone: set true"),
    ("prod-unprotected-database", "prod", "database.deletion_protection", False, "database.deletion_protection = false: prod databases must have deletion protection: set true"),
    ("unknown-db-family", "dev", "database.instance_class", "db.m5.large", "database.instance_class = 'db.m5.large': unknown or non-Graviton instance family 'm5'; allowed: ['t4g', 'm6g', 'm7g', 'm8g', 'r6g', 'r7g', 'r8g']"),
    ("db-class-without-prefix", "dev", "database.replica_instance_class", "r7g.large", "database.replica_instance_class = 'r7g.large': must look like db.r7g.large"),
    ("storage-ceiling-too-low", "dev", "database.max_allocated_storage_gib", 21, "database.max_allocated_storage_gib = 21: must be 22 to 65536: storage autoscaling needs a ceiling at least 10% above allocated_storage_gib (20)"),
    ("storage-below-minimum", "dev", "database.allocated_storage_gib", 10, "database.allocated_storage_gib = 10: must be 20 to 65536 GiB"),
    ("pool-overflow-beyond-max", "dev", "database.pool.max_overflow", 40, "database.pool.max_overflow = 40: must be 0 to 30: pool_size + max_overflow (20 + 40) must not exceed max_connections (50)"),
    ("pool-min-above-max", "dev", "database.pool.min_connections", 60, "database.pool.min_connections = 60: must be 1 to max_connections (50)"),
    ("pool-key-typo", "dev", "database.pool.pool_timeout", 30, "database.pool.pool_timeout: unknown key; allowed here: max_connections, max_overflow, min_connections, pool_recycle_seconds, pool_size, pool_timeout_seconds, pre_ping"),
    ("proxy-idle-above-max", "dev", "database.proxy.max_idle_connections_percent", 95, "database.proxy.max_idle_connections_percent = 95: must be 0 to max_connections_percent (90)"),
    ("proxy-zero-borrow-timeout", "dev", "database.proxy.borrow_timeout_seconds", 0, "database.proxy.borrow_timeout_seconds = 0: must be 1 to 3600 seconds"),
    ("unknown-cache-family", "dev", "cache.node_type", "cache.r5.large", "cache.node_type = 'cache.r5.large': unknown or non-Graviton instance family 'r5'"),
    ("cache-without-replica", "dev", "cache.replicas", 0, "cache.replicas = 0: must be 1 to 5"),
    ("cache-too-many-replicas", "dev", "cache.replicas", 6, "cache.replicas = 6: must be 1 to 5"),
    ("unknown-eviction-policy", "dev", "cache.maxmemory_policy", "lru", "cache.maxmemory_policy = 'lru': unknown eviction policy; allowed: volatile-lru, allkeys-lru"),
    ("unknown-cache-engine", "dev", "cache.engine", "memcached", "cache.engine = 'memcached': must be one of 'valkey', 'redis'"),
    ("cache-log-retention", "dev", "cache.log_retention_days", 10, "cache.log_retention_days = 10: must be one of the retention periods CloudWatch Logs accepts"),
    # names that exist only in shape, look-alike characters, AWS's tag rules
    ("account-fullwidth-digits", "dev", "account", "\uff11" * 12, "account = '\\uff11\\uff11"),
    ("region-typo", "dev", "region", "eu-centrall-1", "region = 'eu-centrall-1': not an AWS region code in config/aws_regions.py (https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html); did you mean 'eu-central-1'?"),
    ("zone-letter-that-does-not-exist", "dev", "availability_zones", ["ap-northeast-2a", "ap-northeast-2e"], "availability_zones[1] = 'ap-northeast-2e': not an availability zone of ap-northeast-2"),
    ("zone-with-cyrillic-a", "dev", "availability_zones", ["ap-northeast-2a", "ap-northeast-2\u0430"], "availability_zones[1] = 'ap-northeast-2\\u0430': not an availability zone"),
    ("zones-not-a-list", "dev", "availability_zones", "ap-northeast-2a", "availability_zones = 'ap-northeast-2a': must be a list"),
    ("db-size-not-offered", "dev", "database.instance_class", "db.r7g.3xlarge", "database.instance_class = 'db.r7g.3xlarge': RDS for PostgreSQL does not offer this class in ap-northeast-2; sizes of db.r7g there: 12xlarge, 16xlarge, 2xlarge, 4xlarge, 8xlarge, large, xlarge"),
    ("cache-size-not-offered", "dev", "cache.node_type", "cache.t4g.large", "cache.node_type = 'cache.t4g.large': ElastiCache does not offer this class in ap-northeast-2; sizes of cache.t4g there: medium, micro, small"),
    ("slow-query-beyond-an-hour", "dev", "database.slow_query_threshold_ms", 3_600_001, "database.slow_query_threshold_ms = 3600001: must be 0 to 3600000 ms"),
    ("idle-timeout-beyond-an-hour", "dev", "database.idle_in_transaction_timeout_ms", 99_999_999, "database.idle_in_transaction_timeout_ms = 99999999: must be 1000 to 3600000 ms"),
    ("cache-snapshots-below-nist", "dev", "cache.snapshot_retention_days", 7, "cache.snapshot_retention_days = 7: must be 15 to 35 days"),
    ("pool-beyond-any-instance", "dev", "database.pool.max_connections", 6000, "database.pool.max_connections = 6000: must be 1 to 5000 connections"),
    ("decimal-for-whole-number", "dev", "database.read_replicas", 1.5, "database.read_replicas = 1.5: must be a whole number, e.g. 3 (no quotes), got a decimal number"),
    ("section-given-a-value", "dev", "database", 3, "database = 3: must be a table ([section] or { key = value }), got a whole number"),
    ("tag-zero-width-space", "dev", "tags", {"CostCenter": "x", "Own\u200ber": "y"}, 'tags."Own\\u200ber" = \'y\': key \'Own\\u200ber\': character \\u200b (ZERO WIDTH SPACE) is not allowed: tags may hold letters, digits, spaces and _ . : / = + - @'),
    ("tag-control-character", "dev", "tags", {"CostCenter": "a\tb", "Owner": "y"}, "tags.CostCenter = 'a\\tb': value 'a\\tb': character \\t"),
    ("tag-value-aws-prefix", "dev", "tags", {"CostCenter": "AWS:billing", "Owner": "y"}, "tags.CostCenter = 'AWS:billing': the aws: prefix is reserved by AWS in tag values"),
    ("tag-key-too-long", "dev", "tags", {"CostCenter": "x", "Owner": "y", "k" * 129: "z"}, "a tag key is 1 to 128 characters long, got 129"),
    ("too-many-tags", "dev", "tags", {"CostCenter": "x", "Owner": "y", **{f"Extra{i}": "v" for i in range(42)}}, "tags = {table}: at most 43 tags, got 44: AWS allows 50 per resource and the app adds up to 7 of its own"),
    ("protection-tag-everywhere", "dev", "tags", {"CostCenter": "x", "Owner": "y", "Protected": "yes"}, "tags.Protected = 'yes': Protected is cost.unused.protection_tag: on every resource it would keep the finder from deleting anything"),
    ("commitment-tag-in-config", "dev", "tags", {"CostCenter": "x", "Owner": "y", "Commitment": "none"}, "tags.Commitment = 'none': the key is set by the app itself"),
    ("tag-value-not-text", "dev", "tags", {"CostCenter": "x", "Owner": 7}, "tags.Owner = 7: must be text in quotes, got a whole number"),
    ("tag-key-longer-than-a-repository-takes", "dev", "tags", {"CostCenter": "x", "Owner": "y", "k" * 128: "z"}, "AWS::ECR::Repository accepts tag keys of 1 to 127 characters, got 128 (CloudFormation's schema for that type); every configured tag goes on every resource that is billed"),
    ("tag-value-longer-than-a-proxy-takes", "dev", "tags", {"CostCenter": "x" * 129, "Owner": "y"}, "AWS::RDS::DBProxy accepts tag values of 0 to 128 characters, got 129"),
    ("protection-tag-longer-than-a-repository-takes", "dev", "cost.unused", {"protection_tag": "P" * 128}, "a tag key every resource kind accepts: AWS::ECR::Repository accepts tag keys of 1 to 127 characters, got 128"),
    ("protection-tag-in-hangul", "dev", "cost.unused", {"protection_tag": "\ubcf4\ud638"}, "cost.unused.protection_tag = '\\ubcf4\\ud638': a tag key: 1 to 128 of letters"),
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
    data["database"]["read_replicas"] = 9
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
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.mark.slow  # app.py in a subprocess, as the CLI runs it
def test_app_refuses_bad_config_without_traceback_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "config"
    bad.mkdir()
    (bad / "dev.toml").write_text((CONFIG_DIR / "dev.toml").read_text().replace("nat_gateways = 1", "nat_gateways = 5"))
    result = run_app(tmp_path, f'{{"env": "dev", "config_dir": "{bad}"}}')
    assert result.returncode == 2
    assert "network.nat_gateways = 5: must be 1 to 2: at least one, at most one per availability zone" in result.stderr
    assert "Traceback" not in result.stderr
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow  # app.py in a subprocess, as the CLI runs it
def test_app_refuses_an_unknown_environment(tmp_path: Path) -> None:
    result = run_app(tmp_path, '{"env": "qa"}')
    assert result.returncode == 2
    assert "environment 'qa' is unknown; choose one of ['dev', 'staging', 'prod']" in result.stderr
    assert "Traceback" not in result.stderr


def test_keys_that_differ_only_in_case_are_refused() -> None:
    """IAM compares tag keys without case: Owner and owner on one role fail the deploy."""
    data = with_change("dev", "tags", {"CostCenter": "x", "Owner": "y", "owner": "z"})
    with pytest.raises(ConfigError, match=r"tags.owner = 'z': same key as Owner except for case"):
        validate_environment(data, source="dev.toml")


def test_every_cross_key_problem_is_reported_at_once() -> None:
    data = with_change("prod", "database.multi_az", False)
    data["cache"]["multi_az"] = False
    data["network"]["nat_gateways"] = 1
    data["availability_zones"] = ["ap-northeast-2a", "ap-northeast-2e", "ap-northeast-2c"]
    with pytest.raises(ConfigError) as caught:
        validate_environment(data, source="prod.toml")
    assert [p.split(" = ")[0] for p in caught.value.problems] == [
        "prod.toml: availability_zones[1]",
        "prod.toml: network.nat_gateways",
        "prod.toml: database.multi_az",
        "prod.toml: cache.multi_az",
    ]


def test_a_name_mismatch_is_reported_with_the_other_problems() -> None:
    data = with_change("dev", "name", "prod")
    with pytest.raises(ConfigError) as caught:
        validate_environment(data, source="dev.toml", expected_name="dev")
    assert caught.value.problems[0] == "dev.toml: name = 'prod': must match the file name ('dev')"


def test_a_storage_size_without_room_for_a_ceiling_names_the_real_bound() -> None:
    data = with_change("dev", "database.allocated_storage_gib", 65000)
    with pytest.raises(ConfigError, match=r"database.allocated_storage_gib = 65000: must be 20 to 59578"):
        validate_environment(data, source="dev.toml")


def test_a_pool_larger_than_its_maximum_blames_pool_size() -> None:
    data = with_change("dev", "database.pool.pool_size", 60)
    with pytest.raises(ConfigError, match=r"database.pool.pool_size = 60: must be 1 to max_connections \(50\)"):
        validate_environment(data, source="dev.toml")


@pytest.mark.parametrize(("zones", "prefix", "fits"), [(2, 18, True), (3, 18, False), (3, 17, True), (6, 17, True)])
def test_vpc_size_follows_how_subnets_are_laid_out(zones: int, prefix: int, fits: bool) -> None:
    """aws-cdk-lib aligns the /20 private tier after the /24s: 3 zones do not fit a /18."""
    data = with_change("staging", "network.vpc_cidr", f"10.20.0.0/{prefix}")
    data["availability_zones"] = (
        [f"ap-northeast-2{z}" for z in "abcd"[:zones]] if zones <= 4 else data["availability_zones"]
    )
    if zones == 6:
        data.update(region="us-east-1", availability_zones=[f"us-east-1{z}" for z in "abcdef"])
        data["load_balancer"]["certificate_arn"] = data["load_balancer"]["certificate_arn"].replace(
            "ap-northeast-2", "us-east-1"
        )
    if fits:
        validate_environment(data, source="staging.toml")
    else:
        with pytest.raises(ConfigError, match=rf"network.vpc_cidr = '10.20.0.0/{prefix}': too small for {zones} zones"):
            validate_environment(data, source="staging.toml")


def test_deprecated_minor_versions_are_refused() -> None:
    data = with_change("dev", "database.engine_version", "16.1")
    with pytest.raises(ConfigError, match=r"database.engine_version = '16.1': deprecated: RDS no longer creates"):
        validate_environment(data, source="dev.toml")


def test_a_vacuum_run_that_could_outlast_a_lambda_is_refused() -> None:
    data = with_change("dev", "maintenance", {"statement_timeout_seconds": 900})
    with pytest.raises(ConfigError, match=r"dev.toml: services.events.vacuum_tables = \['events'\]: 1 tables at "
                       r"maintenance.statement_timeout_seconds = 900 could take 900 s"):  # fmt: skip
        validate_environment(data, source="dev.toml")


def test_a_compute_rule_every_service_inherits_is_reported_once() -> None:
    """[compute]'s bounds apply to each of the five services; the one key at fault is named once."""
    data = with_change("dev", "compute.min_tasks", 5)
    with pytest.raises(ConfigError) as caught:
        validate_environment(data, source="dev.toml")
    assert caught.value.problems == ["dev.toml: compute.min_tasks = 5: must not exceed max_tasks (4)"]


def test_rules_across_sections_and_services_are_reported_together() -> None:
    """The rules that need services.toml run with the others, in one report."""
    data = with_change("prod", "database.multi_az", False)
    data["compute"]["night_scaling"] = {}
    with pytest.raises(ConfigError) as caught:
        validate_environment(data, source="prod.toml")
    assert [p.split(" = ")[0] for p in caught.value.problems] == [
        "prod.toml: database.multi_az",
        "prod.toml: compute.night_scaling",
    ]
