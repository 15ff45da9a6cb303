"""What a service container gets: endpoints from SSM, its own database role and cache user, IAM only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack, assertions, aws_ecs as ecs

from config import load_environment
from platform_constructs.physical_names import (
    SERVICE_ACCESS_POLICY,
    cache_user,
    data_parameter_name,
    database_role,
    service_data_parameter_name,
)
from stacks.service_settings import ENDPOINT_VARIABLES, data_tier_settings


def consumer(service: str) -> tuple[assertions.Template, dict[str, Any]]:
    """A consumer stack with one container using the settings, as the services stack will."""
    config = load_environment("prod")
    stack = Stack(App(), "Consumer", env=Environment(account=config.account, region=config.region))
    settings = data_tier_settings(stack, config, service)
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container(service, image=ecs.ContainerImage.from_registry(f"{service}:latest"),
                       environment=settings.environment)  # fmt: skip
    settings.attach_data_access(stack, task.task_role)
    template = assertions.Template.from_stack(stack)
    container = next(iter(template.find_resources("AWS::ECS::TaskDefinition").values()))["Properties"][
        "ContainerDefinitions"
    ][0]
    return template, container


@pytest.fixture(scope="module")
def bookings() -> tuple[assertions.Template, dict[str, Any]]:
    return consumer("bookings")


def environment(container: dict[str, Any]) -> dict[str, Any]:
    return {item["Name"]: item["Value"] for item in container["Environment"]}


def test_seed_pool_settings_reach_the_container(bookings: tuple[assertions.Template, dict[str, Any]]) -> None:
    env = environment(bookings[1])
    pool = load_environment("prod").database.pool
    assert env["DB_POOL_MIN"] == str(pool.min_connections) == "10"
    assert env["DB_POOL_MAX"] == str(pool.max_connections) == "50"
    assert env["DB_POOL_SIZE"] == str(pool.pool_size) == "20"
    assert env["DB_MAX_OVERFLOW"] == str(pool.max_overflow) == "10"
    assert env["DB_POOL_TIMEOUT"] == str(pool.pool_timeout_seconds) == "30"
    assert env["DB_POOL_RECYCLE"] == str(pool.pool_recycle_seconds) == "3600"
    assert env["DB_POOL_PRE_PING"] == "true"
    assert env["DATABASE_SSLMODE"] == "verify-full"
    assert env["REDIS_TLS"] == "true"


def test_the_service_logs_in_as_itself_with_iam(bookings: tuple[assertions.Template, dict[str, Any]]) -> None:
    env = environment(bookings[1])
    assert env["DATABASE_NAME"] == "ticketing_bookings"
    assert env["DATABASE_USER"] == database_role("bookings") == "svc_bookings"
    assert env["DATABASE_AUTH"] == "iam"
    assert env["REDIS_USER"] == cache_user("prod", "bookings")
    assert env["REDIS_AUTH"] == "iam"
    assert env["AWS_REGION"] == "ap-northeast-2"


def test_no_password_secret_or_token_reaches_a_container(bookings: tuple[assertions.Template, dict[str, Any]]) -> None:
    template, container = bookings
    assert "Secrets" not in container
    text = json.dumps(template.to_json())
    for word in ("secretsmanager", "secret-arn", "PASSWORD", "AUTH_TOKEN"):
        assert word not in text, word


def test_the_task_role_attaches_only_its_own_access_policy(
    bookings: tuple[assertions.Template, dict[str, Any]],
) -> None:
    template, _ = bookings
    parameters = template.to_json()["Parameters"]
    (role,) = template.find_resources("AWS::IAM::Role").values()
    (arn,) = role["Properties"]["ManagedPolicyArns"]
    assert parameters[arn["Ref"]]["Default"] == service_data_parameter_name("prod", "bookings", SERVICE_ACCESS_POLICY)


def test_endpoints_are_resolved_from_ssm_at_deploy_time(bookings: tuple[assertions.Template, dict[str, Any]]) -> None:
    template, container = bookings
    parameters = template.to_json()["Parameters"]
    env = environment(container)
    for variable, parameter in ENDPOINT_VARIABLES.items():
        reference = env[variable]["Ref"]
        assert parameters[reference]["Type"] == "AWS::SSM::Parameter::Value<String>"
        assert parameters[reference]["Default"] == data_parameter_name("prod", parameter)


def test_a_service_without_a_database_gets_no_database_identity() -> None:
    _, container = consumer("api-gateway")
    env = environment(container)
    assert "DATABASE_USER" not in env
    assert "DATABASE_NAME" not in env
    assert env["REDIS_USER"] == cache_user("prod", "api-gateway")


def test_an_unknown_service_is_refused() -> None:
    config = load_environment("prod")
    with pytest.raises(ValueError, match=r"'payments' is not in config/services.toml"):
        data_tier_settings(Stack(App(), "X"), config, "payments")


def test_make_setup_installs_the_wheels_for_the_functions_runtime() -> None:
    """The Makefile's pip target and the bundling read the same platform: runtime and architecture."""
    import re
    from pathlib import Path

    from platform_constructs.postgres import FUNCTION_ARCHITECTURE, FUNCTION_RUNTIME
    from stacks.lambda_code import DEPENDENCIES_DIR, ROOT

    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^LAMBDA_DEPS := (\S+)$", makefile, re.MULTILINE)
    assert target is not None
    assert ROOT / Path(target[1]) == DEPENDENCIES_DIR
    assert f"--python-version {FUNCTION_RUNTIME.name.removeprefix('python')}" in makefile
    assert {"arm64": "manylinux2014_aarch64"}[FUNCTION_ARCHITECTURE.name] in makefile
