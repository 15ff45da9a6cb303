"""The database bootstrap's custom resource, answered through aws-cdk-lib's provider framework, and the
responder that keeps the retired resource's function for one release (stacks/database_access.py)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnElement, Stack
from constructs import IConstruct

from stacks.data_stack import DataStack
from tests.conftest import SynthesizedEnvironment

DATA = "Data"

#: What the next release removes, once every environment has deployed the new resource: the retired
#: bootstrap's function (which now only answers SUCCESS), its role, policy, log group, asynchronous
#: invocation settings and security group (with the group's HTTPS egress to any address), and the data
#: key's statement for that log group. Their logical IDs are those of the previous bootstrap: pinned here
#: so that they do not move until then.
RETIRED_IN_NEXT_RELEASE = {
    "DatabaseAccessBootstrapFunctionE2D5482D": "AWS::Lambda::Function",
    "DatabaseAccessBootstrapFunctionEventInvokeConfig0CF56835": "AWS::Lambda::EventInvokeConfig",
    "DatabaseAccessBootstrapFunctionRole91854A5F": "AWS::IAM::Role",
    "DatabaseAccessBootstrapFunctionPolicyE1F5E7DF": "AWS::IAM::ManagedPolicy",
    "DatabaseAccessBootstrapFunctionLogGroupEACC89BF": "AWS::Logs::LogGroup",
    "DatabaseAccessBootstrapSecurityGroup16A36EF4": "AWS::EC2::SecurityGroup",
}
#: The retired custom resource, which named the function above as its service token.
RETIRED_CUSTOM_RESOURCE = "DatabaseAccessBootstrapBDDBF015"


def data_stack(env: SynthesizedEnvironment) -> DataStack:
    stack = env.stack(DATA)
    assert isinstance(stack, DataStack)
    return stack


def logical_id(stack: Stack, construct: IConstruct) -> str:
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    assert isinstance(element, CfnElement), construct.node.path
    return str(stack.resolve(element.logical_id))


def data_resources(env: SynthesizedEnvironment) -> dict[str, Any]:
    resources: dict[str, Any] = env.template_json(DATA)["Resources"]
    return resources


def test_the_bootstrap_is_a_new_custom_resource_answered_by_the_provider_framework(
    env: SynthesizedEnvironment,
) -> None:
    stack = data_stack(env)
    resources = data_resources(env)
    assert stack.access.bootstrap is not None
    bootstrap_id = logical_id(stack, stack.access.bootstrap)
    assert bootstrap_id != RETIRED_CUSTOM_RESOURCE
    assert RETIRED_CUSTOM_RESOURCE not in resources
    [custom] = [i for i, r in resources.items() if r["Type"] == "Custom::DatabaseBootstrap"]
    assert custom == bootstrap_id
    framework = logical_id(stack, stack.access.bootstrap_provider.node.find_child("framework-onEvent"))
    assert resources[bootstrap_id]["Properties"]["ServiceToken"] == {"Fn::GetAtt": [framework, "Arn"]}
    # The framework calls the bootstrap function in the VPC.
    handler = logical_id(stack, stack.access.bootstrap_function.function)
    variables = resources[framework]["Properties"]["Environment"]["Variables"]
    assert variables["USER_ON_EVENT_FUNCTION_ARN"] == {"Fn::GetAtt": [handler, "Arn"]}


def test_the_proxy_target_group_waits_for_the_new_custom_resource(env: SynthesizedEnvironment) -> None:
    stack = data_stack(env)
    assert stack.access.bootstrap is not None
    resources = data_resources(env)
    [target_group] = [r for r in resources.values() if r["Type"] == "AWS::RDS::DBProxyTargetGroup"]
    depends_on = target_group["DependsOn"]
    assert logical_id(stack, stack.access.bootstrap) in depends_on
    assert RETIRED_CUSTOM_RESOURCE not in depends_on


def test_the_bootstrap_function_has_no_way_out_of_the_vpc(env: SynthesizedEnvironment) -> None:
    stack = data_stack(env)
    resources = data_resources(env)
    group = resources[logical_id(stack, stack.access.bootstrap_security_group)]["Properties"]
    egress = group["SecurityGroupEgress"]
    assert not [rule for rule in egress if rule.get("CidrIp") == "0.0.0.0/0"], egress
    assert sorted(rule["FromPort"] for rule in egress) == [443, int(stack.postgres.port)]
    function = resources[logical_id(stack, stack.access.bootstrap_function.function)]["Properties"]
    assert function["VpcConfig"]["SecurityGroupIds"] == [
        {"Fn::GetAtt": [logical_id(stack, stack.access.bootstrap_security_group), "GroupId"]}
    ]


def test_the_provider_function_runs_outside_the_vpc_with_an_encrypted_log_group(env: SynthesizedEnvironment) -> None:
    stack = data_stack(env)
    resources = data_resources(env)
    framework = resources[logical_id(stack, stack.access.bootstrap_provider.node.find_child("framework-onEvent"))]
    assert "VpcConfig" not in framework["Properties"]
    log_group_id = framework["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = resources[log_group_id]["Properties"]
    assert log_group["KmsKeyId"] == {"Fn::GetAtt": [logical_id(stack, stack.key), "Arn"]}
    assert log_group["RetentionInDays"] == env.config.database.log_retention_days
    assert log_group["LogGroupName"] == f"/ticketing/{env.config.name}/database/bootstrap-provider"


def test_the_retired_bootstrap_function_keeps_its_logical_ids_until_the_next_release(
    env: SynthesizedEnvironment,
) -> None:
    stack = data_stack(env)
    resources = data_resources(env)
    responder = stack.access.retired_bootstrap
    retired = {
        logical_id(stack, element): resources[logical_id(stack, element)]["Type"]
        for construct in (responder.function, responder.security_group)
        for element in construct.node.find_all()
        if isinstance(element, CfnElement) and logical_id(stack, element) in resources
    }
    assert retired == RETIRED_IN_NEXT_RELEASE
    assert logical_id(stack, responder.function.function) == "DatabaseAccessBootstrapFunctionE2D5482D"
    assert logical_id(stack, responder.security_group) == "DatabaseAccessBootstrapSecurityGroup16A36EF4"
    # It answers at the pre-signed S3 URL (its HTTPS egress stays) and has no way to the database.
    [egress] = resources["DatabaseAccessBootstrapSecurityGroup16A36EF4"]["Properties"]["SecurityGroupEgress"]
    assert (egress["CidrIp"], egress["FromPort"], egress["ToPort"]) == ("0.0.0.0/0", 443, 443)
    ingress_from_it = [
        r for r in resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
        and r["Properties"].get("SourceSecurityGroupId", {}).get("Fn::GetAtt", [""])[0]
        == "DatabaseAccessBootstrapSecurityGroup16A36EF4"
    ]  # fmt: skip
    assert ingress_from_it == []
    policy = json.dumps(resources["DatabaseAccessBootstrapFunctionPolicyE1F5E7DF"]["Properties"])
    assert "secretsmanager:" not in policy
    function = resources["DatabaseAccessBootstrapFunctionE2D5482D"]["Properties"]
    assert "Environment" not in function or "SECRET_ARN" not in json.dumps(function["Environment"])
    assert "remove in the next release" in function["Description"]
