"""The exported log groups (``log_groups``): created first, encrypted, and named in the key policy."""

from __future__ import annotations

from tests.constructs.postgres_fixture import (
    PostgresApp,
)


def test_log_exports_go_to_encrypted_log_groups_created_first(postgres: PostgresApp) -> None:
    instances = (postgres.main.primary, *postgres.main.replicas)
    for instance, owner in zip(instances, ("Primary", "Replica1", "Replica2"), strict=True):
        resource = postgres.resource(instance)
        assert resource["Properties"]["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
        identifier = resource["Properties"]["DBInstanceIdentifier"]
        groups = [postgres.main.log_groups[f"{owner}/postgresql"], postgres.main.log_groups[f"{owner}/upgrade"]]
        assert {postgres.id_of(group) for group in groups} <= set(resource["DependsOn"])
        for group, log_type in zip(groups, ("postgresql", "upgrade"), strict=True):
            group_resource = postgres.resource(group)
            assert group_resource["Properties"] == {
                "LogGroupName": f"/aws/rds/instance/{identifier}/{log_type}",
                "KmsKeyId": postgres.key_arn(),
                "RetentionInDays": 365,
            }
            assert (group_resource["DeletionPolicy"], group_resource["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert postgres.props(postgres.small.log_groups["Primary/postgresql"])["RetentionInDays"] == 30


def test_key_policy_lets_regional_logs_use_the_key_for_exactly_these_groups(postgres: PostgresApp) -> None:
    statements = postgres.props(postgres.key)["KeyPolicy"]["Statement"]
    logs_statements = [s for s in statements if s.get("Principal") == {"Service": "logs.ap-northeast-2.amazonaws.com"}]
    assert len(logs_statements) == 2  # one per cluster, each naming exactly its own log groups
    arns_by_cluster = sorted(
        (s["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] for s in logs_statements), key=len
    )
    prefix = "arn:aws:logs:ap-northeast-2:111111111111:log-group:/aws/rds/instance/"
    assert arns_by_cluster[0] == [f"{prefix}events-db/postgresql", f"{prefix}events-db/upgrade"]
    identifier = postgres.props(postgres.main.primary)["DBInstanceIdentifier"]
    assert arns_by_cluster[1] == [
        f"{prefix}{name}/{log_type}"
        for name in (identifier, f"{identifier}-replica1", f"{identifier}-replica2")
        for log_type in ("postgresql", "upgrade")
    ]
