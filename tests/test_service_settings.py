"""The settings a service container gets: endpoints from SSM, the seed's pool numbers, secrets as secrets."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Environment, Stack, assertions, aws_ecs as ecs

from config import load_environment
from stacks.data_parameters import DataParameter, parameter_name
from stacks.service_settings import ENDPOINT_VARIABLES, data_tier_settings


@pytest.fixture(scope="module")
def probe() -> tuple[assertions.Template, dict[str, Any]]:
    """A consumer stack with one container using the settings, as the services stack will."""
    config = load_environment("prod")
    stack = Stack(App(), "Consumer", env=Environment(account=config.account, region=config.region))
    settings = data_tier_settings(stack, config)
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container(
        "bookings",
        image=ecs.ContainerImage.from_registry("bookings:latest"),
        environment=settings.environment,
        secrets=settings.secrets,
    )
    settings.grant_decrypt(task)
    template = assertions.Template.from_stack(stack)
    container = next(iter(template.find_resources("AWS::ECS::TaskDefinition").values()))["Properties"][
        "ContainerDefinitions"
    ][0]
    return template, container


def environment(container: dict[str, Any]) -> dict[str, Any]:
    return {item["Name"]: item["Value"] for item in container["Environment"]}


def test_seed_pool_settings_reach_the_container(probe: tuple[assertions.Template, dict[str, Any]]) -> None:
    env = environment(probe[1])
    pool = load_environment("prod").database.pool
    assert env["DB_POOL_MIN"] == str(pool.min_connections) == "10"
    assert env["DB_POOL_MAX"] == str(pool.max_connections) == "50"
    assert env["DB_POOL_SIZE"] == str(pool.pool_size) == "20"
    assert env["DB_MAX_OVERFLOW"] == str(pool.max_overflow) == "10"
    assert env["DB_POOL_TIMEOUT"] == str(pool.pool_timeout_seconds) == "30"
    assert env["DB_POOL_RECYCLE"] == str(pool.pool_recycle_seconds) == "3600"
    assert env["DB_POOL_PRE_PING"] == "true"
    assert env["DATABASE_SSLMODE"] == "require"
    assert env["REDIS_TLS"] == "true"


def test_endpoints_are_resolved_from_ssm_at_deploy_time(probe: tuple[assertions.Template, dict[str, Any]]) -> None:
    template, container = probe
    parameters = template.to_json()["Parameters"]
    env = environment(container)
    for variable, parameter in ENDPOINT_VARIABLES.items():
        reference = env[variable]["Ref"]
        assert parameters[reference]["Type"] == "AWS::SSM::Parameter::Value<String>"
        assert parameters[reference]["Default"] == parameter_name("prod", parameter)
    assert not any("Fn::ImportValue" in str(value) for value in env.values())


def test_credentials_are_ecs_secrets_not_variables(probe: tuple[assertions.Template, dict[str, Any]]) -> None:
    template, container = probe
    env = environment(container)
    assert not [name for name in env if any(word in name for word in ("PASSWORD", "TOKEN", "USERNAME", "SECRET"))]
    secrets = {item["Name"]: item["ValueFrom"] for item in container["Secrets"]}
    assert set(secrets) == {"DATABASE_USERNAME", "DATABASE_PASSWORD", "REDIS_AUTH_TOKEN"}
    parameters = template.to_json()["Parameters"]
    database_arn = next(k for k, v in parameters.items() if v.get("Default", "").endswith("database/secret-arn"))
    assert secrets["DATABASE_PASSWORD"] == {"Fn::Join": ["", [{"Ref": database_arn}, ":password::"]]}
    assert secrets["DATABASE_USERNAME"] == {"Fn::Join": ["", [{"Ref": database_arn}, ":username::"]]}
    cache_arn = next(k for k, v in parameters.items() if v.get("Default", "").endswith("cache/auth-secret-arn"))
    assert secrets["REDIS_AUTH_TOKEN"] == {"Ref": cache_arn}


def test_execution_role_may_read_those_secrets_and_decrypt_them(
    probe: tuple[assertions.Template, dict[str, Any]],
) -> None:
    template, _ = probe
    parameters = template.to_json()["Parameters"]
    by_name = {v.get("Default", "").rsplit("/data/", 1)[-1]: k for k, v in parameters.items()}
    policy = next(iter(template.find_resources("AWS::IAM::Policy").values()))["Properties"]["PolicyDocument"]
    reads = [s for s in policy["Statement"] if "secretsmanager:GetSecretValue" in s["Action"]]
    assert sorted(str(s["Resource"]) for s in reads) == sorted(
        str({"Ref": by_name[name]}) for name in ("database/secret-arn", "cache/auth-secret-arn")
    )
    decrypt = [s for s in policy["Statement"] if s["Action"] == "kms:Decrypt"]
    assert decrypt, "without kms:Decrypt on the data key, ECS cannot fetch the secrets and tasks fail to start"
    assert all(s["Resource"] == {"Ref": by_name["encryption-key-arn"]} for s in decrypt)
    assert all(
        s["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.ap-northeast-2.amazonaws.com"}}
        for s in decrypt
    )


def test_every_published_endpoint_has_a_consumer() -> None:
    consumed = set(ENDPOINT_VARIABLES.values()) | {
        DataParameter.DATABASE_SECRET_ARN,
        DataParameter.CACHE_AUTH_SECRET_ARN,
        DataParameter.ENCRYPTION_KEY_ARN,
    }
    # The primary's own address is published for migrations and administrators only.
    assert set(DataParameter) - consumed == {DataParameter.DATABASE_PRIMARY_HOST}
