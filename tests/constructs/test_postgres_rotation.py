"""Credential rotation (``rotation``)."""

from __future__ import annotations

from tests.constructs.postgres_fixture import (
    PostgresApp,
)


def test_hosted_rotation_in_the_vpc_on_schedule(postgres: PostgresApp) -> None:
    assert "AWS::SecretsManager-2024-09-16" in postgres.template_json["Transform"]
    rotation = postgres.props(postgres.main.rotation_schedule)
    assert rotation["SecretId"] == {"Ref": postgres.id_of(postgres.main.secret)}
    assert rotation["RotationRules"] == {"ScheduleExpression": "rate(30 days)"}
    hosted = rotation["HostedRotationLambda"]
    assert hosted["RotationType"] == "PostgreSQLSingleUser"
    assert hosted["KmsKeyArn"] == postgres.key_arn()
    assert hosted["VpcSecurityGroupIds"] == postgres.sg_id(postgres.main.rotation_security_group)
    assert postgres.props(postgres.small.rotation_schedule)["RotationRules"] == {"ScheduleExpression": "rate(7 days)"}
    postgres.template.resource_count_is("AWS::Lambda::Function", 0)  # created by the transform at deploy time
