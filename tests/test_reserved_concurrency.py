"""Reserved concurrency comes from config, per function and environment, and nothing else reserves any.

A reservation takes executions from the account's quota for good, and Lambda keeps 100 of the quota
unreserved: in a new account (quota 10 or 50) any reservation fails the deploy. So every
`ReservedConcurrentExecutions` in every template must be one that `[reserved_concurrency]` asks for.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aws_cdk import Stack, aws_lambda as lambda_

from config.schema import ReservedConcurrencyConfig
from platform_constructs.database_function import DatabaseFunction
from platform_constructs.scheduled_function import ScheduledFunction
from stacks.cost_stack import CostStack
from stacks.data_stack import DataStack
from tests.conftest import SynthesizedEnvironment

#: Each config key and the construct it sizes.
FUNCTIONS: dict[str, Callable[[DataStack, CostStack], DatabaseFunction | ScheduledFunction | None]] = {
    "database_bootstrap": lambda data, _: data.access.bootstrap_function,
    "database_maintenance": lambda data, _: data.access.maintenance_function,
    "secret_rotation": lambda data, _: data.postgres.rotation_function,
    "restore_drill": lambda data, _: data.restore_drill.function,
    "commitment_coverage": lambda _, cost: cost.coverage_report,
    "unused_resources": lambda _, cost: cost.finder,
}


def test_every_config_key_names_a_function() -> None:
    assert set(FUNCTIONS) == set(ReservedConcurrencyConfig.model_fields)


def _logical_id(function: DatabaseFunction | ScheduledFunction | None) -> tuple[str, str]:
    assert function is not None, "every environment creates each function"
    cfn = function.function.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction)
    stack = Stack.of(cfn)
    return stack.node.id, stack.get_logical_id(cfn)


def test_reservations_are_exactly_what_config_asks_for(env: SynthesizedEnvironment) -> None:
    data, cost = env.stack("Data"), env.stack("Cost")
    assert isinstance(data, DataStack)
    assert isinstance(cost, CostStack)
    wanted = {
        _logical_id(getter(data, cost)): getattr(env.config.reserved_concurrency, key)
        for key, getter in FUNCTIONS.items()
    }
    found = {}
    for stack in env.stacks:
        for logical_id, resource in env.template_json(stack.node.id)["Resources"].items():
            if resource["Type"] == "AWS::Lambda::Function":
                found[stack.node.id, logical_id] = resource["Properties"].get("ReservedConcurrentExecutions", 0)
    assert {key: found[key] for key in wanted} == wanted
    others = {key: value for key, value in found.items() if key not in wanted and value}
    assert not others, f"reservations config does not ask for: {others}"


def test_committed_environments_reserve_only_the_maintenance_jobs(env: SynthesizedEnvironment) -> None:
    """The one reservation that protects something: the maintenance jobs start at the same minute and run one
    after another on the primary. dev reserves nothing, so that a new account's quota of 10 deploys it."""
    reserved = {key: value for key, value in env.config.reserved_concurrency.model_dump().items() if value}
    assert reserved == ({} if env.config.name == "dev" else {"database_maintenance": 1})


@pytest.mark.parametrize("value", [0, -1, 1001])
def test_the_constructs_refuse_what_lambda_would(value: int) -> None:
    """0 would throttle every call (Lambda's meaning), so the constructs take None for no reservation."""
    from aws_cdk import App, Duration, aws_kms as kms, aws_logs as logs

    stack = Stack(App(), "Probe", env={"account": "111111111111", "region": "ap-northeast-2"})
    with pytest.raises(ValueError, match=f"reserved_concurrency: must be between 1 and 1000, or None for no "
                                         f"reservation, got {value}"):  # fmt: skip
        ScheduledFunction(
            stack, "Job", code=lambda_.Code.from_inline("def handler(e, c): pass"), runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64, description="probe", log_group_name="/probe",
            log_retention=logs.RetentionDays.ONE_WEEK, encryption_key=kms.Key(stack, "Key"), statements=[],
            schedule="rate(1 day)", time_zone="UTC", payload={}, environment={}, timeout=Duration.minutes(1),
            reserved_concurrency=value,
        )  # fmt: skip


def test_a_misspelt_function_is_refused_by_name() -> None:
    with pytest.raises(KeyError, match=r"reserved_concurrency\.database_maintenence: no such function; known: "):
        ReservedConcurrencyConfig().of("database_maintenence")
    assert ReservedConcurrencyConfig().of("database_maintenance") == 1
    assert ReservedConcurrencyConfig().of("restore_drill") is None
