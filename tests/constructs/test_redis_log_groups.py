"""The slow-log and engine-log groups (``log_groups``): delivery, encryption, retention, the key policy."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_logs as logs

from tests.constructs.cache_fixture import (
    CacheApp,
)


def test_slow_and_engine_logs_delivered_to_their_log_groups(cache: CacheApp) -> None:
    props = cache.group(cache.valkey)["Properties"]

    def delivery(log_type: str, log_group: logs.LogGroup) -> dict[str, Any]:
        return {
            "LogType": log_type,
            "LogFormat": "json",
            "DestinationType": "cloudwatch-logs",
            "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": {"Ref": cache.id_of(log_group)}}},
        }

    assert props["LogDeliveryConfigurations"] == [
        delivery("slow-log", cache.valkey.slow_log_group),
        delivery("engine-log", cache.valkey.engine_log_group),
    ]


def test_log_groups_encrypted_with_the_key_and_retained_for_the_given_time(cache: CacheApp) -> None:
    log_groups = cache.template.find_resources("AWS::Logs::LogGroup")
    for group, days in ((cache.valkey, 30), (cache.redis, 7)):
        for log_group in (group.slow_log_group, group.engine_log_group):
            props = log_groups[cache.id_of(log_group)]["Properties"]
            assert props["KmsKeyId"] == {"Fn::GetAtt": [cache.id_of(cache.key), "Arn"]}
            assert props["RetentionInDays"] == days
            assert props["LogGroupName"].startswith("/aws/elasticache/")


def test_key_policy_lets_regional_cloudwatch_logs_use_the_key_for_exactly_the_named_groups(cache: CacheApp) -> None:
    statements = cache.template.find_resources("AWS::KMS::Key")[cache.id_of(cache.key)]["Properties"]["KeyPolicy"][
        "Statement"
    ]
    logs_statements = [s for s in statements if s.get("Principal") == {"Service": "logs.ap-northeast-2.amazonaws.com"}]
    # One statement per replication group, naming its two log groups; never every log group of the account.
    assert len(logs_statements) == 2
    log_groups = cache.template.find_resources("AWS::Logs::LogGroup")
    for group, statement in zip((cache.valkey, cache.redis), logs_statements, strict=True):
        names = [
            log_groups[cache.id_of(g)]["Properties"]["LogGroupName"]
            for g in (group.slow_log_group, group.engine_log_group)
        ]
        arns = statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
        assert arns == [f"arn:aws:logs:ap-northeast-2:111111111111:log-group:{name}" for name in names]
