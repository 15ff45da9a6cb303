"""Every log group of every template has a retention from its environment's config, and no function
writes to a log group CloudFormation does not manage (Lambda would create one kept forever)."""

from __future__ import annotations

import json

from tests.conftest import SynthesizedEnvironment


def configured_retentions(env: SynthesizedEnvironment) -> set[int]:
    config = env.config
    return {
        config.network.flow_log_retention_days,
        config.database.log_retention_days,
        config.cache.log_retention_days,
        config.compute.log_retention_days,
    }


def test_every_log_group_keeps_its_logs_as_long_as_config_says(env: SynthesizedEnvironment) -> None:
    allowed = configured_retentions(env)
    groups = 0
    for path in env.template_files():
        for logical_id, resource in json.loads(path.read_text(encoding="utf-8"))["Resources"].items():
            if resource["Type"] == "AWS::Logs::LogGroup":
                groups += 1
                retention = resource["Properties"].get("RetentionInDays")
                assert retention in allowed, f"{path.name} {logical_id}: retention {retention}, config has {allowed}"
    assert groups >= 20


def test_every_function_logs_to_a_group_of_its_template(env: SynthesizedEnvironment) -> None:
    functions = 0
    for path in env.template_files():
        resources = json.loads(path.read_text(encoding="utf-8"))["Resources"]
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            functions += 1
            group = resource["Properties"].get("LoggingConfig", {}).get("LogGroup")
            assert isinstance(group, dict), f"{path.name} {logical_id}: logs to Lambda's default group"
            assert resources[group["Ref"]]["Type"] == "AWS::Logs::LogGroup", logical_id
    assert functions >= 4
