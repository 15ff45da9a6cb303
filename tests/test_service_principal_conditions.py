"""Every service principal that assumes a role or invokes a function is limited to this account's sources.

Read from every synthesised template of every environment, generically: each `Principal: {Service: ...}` of
a role's trust policy and each `AWS::Lambda::Permission` for a service either carries `aws:SourceAccount`
(this environment's account) and `aws:SourceArn` (a resource of that service in this account), or its
service is one of `NO_SOURCE_KEYS`, whose documentation names no such key for that use: a key the service
does not send makes the condition false and denies it at run time. Where one service principal assumes roles
of different kinds and its documentation names the keys for one kind only (ECS: task roles, not task
execution roles), the exception is for the role's use, `NO_SOURCE_KEYS_FOR_USE`: the property of another
resource of the template that names the role's ARN. An exception carries neither key (it would deny the
service). The README's table ("Service principals and their source conditions") lists exactly these exceptions.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from config import ENVIRONMENT_NAMES
from tests.conftest import SynthesizedEnvironment

ROOT = Path(__file__).resolve().parent.parent
#: Services whose documentation names no source key for assuming the role they are given here, with why.
NO_SOURCE_KEYS: dict[str, str] = {
    "lambda.amazonaws.com": "Lambda's execution-role page gives the trust policy without them; Lambda scopes a "
    "role's use by the function with lambda:SourceFunctionArn on the calls made with it, not on the assumption",
    "rds.amazonaws.com": "RDS Proxy's IAM set-up gives the proxy role's trust without them; RDS's confused-deputy "
    "page covers resource policies and the feature roles it lists, not the proxy",
    "backup.amazonaws.com": "AWS Backup's confused-deputy page names the keys for resource policies (SNS topics "
    "with the vault's ARN, key policies), not for the role a backup plan's selection passes to it",
    "sns.amazonaws.com": "SNS's delivery-status logging gives the feedback role's trust without them",
}
#: Roles whose documentation names no source key for the use they are put to, by (service, `Type.Property` of
#: the resource naming the role's ARN), with why. A role is exempt only when every use of it is exempt.
NO_SOURCE_KEYS_FOR_USE: dict[tuple[str, str], str] = {
    ("ecs-tasks.amazonaws.com", "AWS::ECS::TaskDefinition.ExecutionRoleArn"): "ECS's task execution role page "
    "gives the execution role's trust without them; its task IAM role page recommends them for task roles only",
}
#: The ARN service each conditioned principal acts for (its source ARN must name a resource of that service).
SOURCE_SERVICE: dict[str, str] = {
    "scheduler.amazonaws.com": "scheduler",
    "states.amazonaws.com": "states",
    "vpc-flow-logs.amazonaws.com": "ec2",
    "monitoring.rds.amazonaws.com": "rds",
    "secretsmanager.amazonaws.com": "secretsmanager",
    "ecs-tasks.amazonaws.com": "ecs",
}


def flat(value: Any) -> str:
    """A template value as text: references as ${...}, joins joined (enough to read an ARN's service)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return "${" + str(value["Ref"]) + "}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(flat(part) for part in parts)
    return json.dumps(value, sort_keys=True)


def _services(principal: Any) -> list[str]:
    if not isinstance(principal, dict) or "Service" not in principal:
        return []
    services = principal["Service"]
    return [flat(s) for s in (services if isinstance(services, list) else [services])]


def _condition_value(condition: dict[str, Any], key: str) -> str | None:
    for operator, entries in condition.items():
        if operator in ("StringEquals", "StringLike", "ArnEquals", "ArnLike") and key in entries:
            return flat(entries[key])
    return None


def service_grants(template: dict[str, Any]) -> Iterator[tuple[str, str, str | None, str | None]]:
    """(logical id, service, source account, source ARN) of every trust statement and Lambda permission."""
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for statement in properties["AssumeRolePolicyDocument"]["Statement"]:
                condition = statement.get("Condition", {})
                for service in _services(statement.get("Principal")):
                    yield (logical_id, service, _condition_value(condition, "aws:SourceAccount"),
                           _condition_value(condition, "aws:SourceArn"))  # fmt: skip
        elif resource["Type"] == "AWS::Lambda::Permission" and flat(properties["Principal"]).endswith(".amazonaws.com"):
            account, arn = properties.get("SourceAccount"), properties.get("SourceArn")
            yield (logical_id, flat(properties["Principal"]), None if account is None else flat(account),
                   None if arn is None else flat(arn))  # fmt: skip


def role_uses(template: dict[str, Any]) -> dict[str, set[str]]:
    """Each role's uses in `template`: `Type.Property` of every resource property that is the role's ARN."""
    uses: dict[str, set[str]] = {}
    for resource in template["Resources"].values():
        for name, value in resource.get("Properties", {}).items():
            if isinstance(value, dict) and list(value) == ["Fn::GetAtt"] and value["Fn::GetAtt"][1:] == ["Arn"]:
                uses.setdefault(value["Fn::GetAtt"][0], set()).add(f"{resource['Type']}.{name}")
    return uses


def exempt_by_use(service: str, uses: set[str]) -> bool:
    """Whether every use of a role of `service` is one whose documentation names no source key (and it has one)."""
    return bool(uses) and all((service, use) in NO_SOURCE_KEYS_FOR_USE for use in uses)


def grants(env: SynthesizedEnvironment) -> Iterator[tuple[str, str, str, str | None, str | None, set[str]]]:
    """(template, logical id, service, source account, source ARN, the role's uses in its template)."""
    for path in env.template_files():
        template = json.loads(path.read_text(encoding="utf-8"))
        uses = role_uses(template)
        for logical_id, service, account, arn in service_grants(template):
            yield (path.name, logical_id, service, account, arn, uses.get(logical_id, set()))


#: ARN service names that differ from the CloudFormation namespace of the resource type.
ARN_SERVICE_OF_NAMESPACE = {"stepfunctions": "states"}


def referenced_service(env: SynthesizedEnvironment, template: str, value: str) -> str | None:
    """The ARN service of the resource a `${Logical}` / `${Logical.Arn}` value refers to in `template`
    (`AWS::SecretsManager::...` -> ``secretsmanager``), or None when `value` is not such a reference."""
    match = re.fullmatch(r"\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}", value)
    if match is None:
        return None
    (path,) = [p for p in env.template_files() if p.name == template]
    resource = json.loads(path.read_text(encoding="utf-8"))["Resources"].get(match.group(1))
    if resource is None:
        return None
    namespace = str(resource["Type"]).split("::")[1].lower()
    return ARN_SERVICE_OF_NAMESPACE.get(namespace, namespace)


def test_every_service_principal_carries_its_source_or_is_a_documented_exception(
    env: SynthesizedEnvironment,
) -> None:
    problems = []
    for template, logical_id, service, account, arn, uses in grants(env):
        where = f"{template} {logical_id} ({service}, used as {sorted(uses) or 'nothing in its template'})"
        if service in NO_SOURCE_KEYS or exempt_by_use(service, uses):
            if account is not None or arn is not None:
                problems.append(f"{where}: a source key its documentation does not name for this use")
            continue
        if account not in (env.config.account, "${AWS::AccountId}"):
            problems.append(f"{where}: aws:SourceAccount is {account!r}, not the environment's account")
        expected = SOURCE_SERVICE.get(service)
        if expected is None:
            problems.append(f"{where}: a service not yet classified: add it to SOURCE_SERVICE or NO_SOURCE_KEYS")
        elif arn is None or not (
            re.match(rf"arn:\$\{{AWS::Partition\}}:{expected}:|arn:aws:{expected}:", arn)
            or referenced_service(env, template, arn) == expected
        ):
            problems.append(f"{where}: aws:SourceArn {arn!r} is not a {expected} resource")
        elif arn.startswith("arn:") and f":{env.config.account}:" not in arn and ":${AWS::AccountId}:" not in arn:
            problems.append(f"{where}: aws:SourceArn {arn!r} is not in this account")
    assert problems == []


def test_the_exceptions_are_all_in_use_and_conditioned_services_really_are(
    platform: Callable[[str], SynthesizedEnvironment],
) -> None:
    """No stale exception, and each conditioned service of SOURCE_SERVICE appears, conditioned, somewhere."""
    every = [grant for name in ENVIRONMENT_NAMES for grant in grants(platform(name))]
    seen = {service for _, _, service, _, _, _ in every}
    conditioned = {service for _, _, service, account, arn, _ in every if account is not None and arn is not None}
    used = {(service, use) for _, _, service, _, _, uses in every for use in uses}
    assert set(NO_SOURCE_KEYS) <= seen, f"exceptions no template uses: {set(NO_SOURCE_KEYS) - seen}"
    assert set(NO_SOURCE_KEYS_FOR_USE) <= used, f"use exceptions no template has: {set(NO_SOURCE_KEYS_FOR_USE) - used}"
    assert set(SOURCE_SERVICE) <= conditioned, f"never conditioned: {set(SOURCE_SERVICE) - conditioned}"
    assert not set(NO_SOURCE_KEYS) & set(SOURCE_SERVICE)
    assert {service for service, _ in NO_SOURCE_KEYS_FOR_USE} <= set(SOURCE_SERVICE)


def test_the_readme_table_lists_exactly_the_exceptions() -> None:
    readme = (ROOT / "docs" / "tiers" / "data.md").read_text(encoding="utf-8")
    section = readme.split("## Service principals and their source conditions", 1)[1].split("\n#", 1)[0]
    rows = re.findall(
        r"^\| `([a-z0-9.-]+\.amazonaws\.com)`(?: as `([A-Za-z0-9:.]+)`)? \| ([^|]+) \|", section, flags=re.MULTILINE
    )
    without = {service for service, use, keys in rows if not use and keys.strip() == "none"}
    without_for_use = {(service, use) for service, use, keys in rows if use and keys.strip() == "none"}
    with_keys = {service for service, use, keys in rows if not use and keys.strip() != "none"}
    assert len(rows) == len(without) + len(without_for_use) + len(with_keys), f"a row twice, or keys for a use: {rows}"
    assert without == set(NO_SOURCE_KEYS)
    assert without_for_use == set(NO_SOURCE_KEYS_FOR_USE)
    assert with_keys == set(SOURCE_SERVICE)


def test_the_reading_of_conditions() -> None:
    template = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [{
                "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"},
                              "ArnLike": {"aws:SourceArn": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"},
                                                                             ":states:r:111111111111:stateMachine:x"]]}}},
            }]}}},
            "Bare": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [{
                "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}}},
            "Invoke": {"Type": "AWS::Lambda::Permission", "Properties": {
                "Principal": "secretsmanager.amazonaws.com", "SourceAccount": "111111111111"}},
        }
    }  # fmt: skip
    assert sorted(service_grants(template)) == [
        ("Bare", "lambda.amazonaws.com", None, None),
        ("Invoke", "secretsmanager.amazonaws.com", "111111111111", None),
        ("Role", "states.amazonaws.com", "111111111111", "arn:${AWS::Partition}:states:r:111111111111:stateMachine:x"),
    ]


def test_a_role_is_exempt_only_when_every_use_of_it_is() -> None:
    def role(service: str) -> dict[str, Any]:
        return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [{
            "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}}}  # fmt: skip

    def arn(logical_id: str) -> dict[str, list[str]]:
        return {"Fn::GetAtt": [logical_id, "Arn"]}

    template = {
        "Resources": {
            "Exec": role("ecs-tasks.amazonaws.com"),
            "Task": role("ecs-tasks.amazonaws.com"),
            "Both": role("ecs-tasks.amazonaws.com"),
            "Unused": role("ecs-tasks.amazonaws.com"),
            "One": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "ExecutionRoleArn": arn("Exec"), "TaskRoleArn": arn("Task"), "Family": "one"}},
            "Two": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "ExecutionRoleArn": arn("Both"), "TaskRoleArn": arn("Both")}},
            "Name": {"Type": "AWS::SSM::Parameter", "Properties": {"Value": {"Fn::GetAtt": ["Exec", "RoleId"]}}},
        }
    }  # fmt: skip
    uses = role_uses(template)
    execution, task = "AWS::ECS::TaskDefinition.ExecutionRoleArn", "AWS::ECS::TaskDefinition.TaskRoleArn"
    assert uses == {"Exec": {execution}, "Task": {task}, "Both": {execution, task}}
    assert exempt_by_use("ecs-tasks.amazonaws.com", uses["Exec"])
    assert not exempt_by_use("ecs-tasks.amazonaws.com", uses["Task"])
    assert not exempt_by_use("ecs-tasks.amazonaws.com", uses["Both"])
    assert not exempt_by_use("ecs-tasks.amazonaws.com", set())
    assert not exempt_by_use("lambda.amazonaws.com", {execution})


def test_each_schedule_is_in_the_group_its_execution_role_trusts(env: SynthesizedEnvironment) -> None:
    """Scheduler sends its schedule group's ARN as `aws:SourceArn`: a schedule in any other group than the one
    its role's trust names (a `GroupName` added later, say) would be denied at run time. The role's pattern
    is matched as IAM's ArnLike does (`*` and `?`)."""
    checked = 0
    for path in env.template_files():
        template = json.loads(path.read_text(encoding="utf-8"))
        trusted = {
            logical_id: arn
            for logical_id, service, _, arn in service_grants(template)
            if service == "scheduler.amazonaws.com"
        }
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::Scheduler::Schedule":
                continue
            properties = resource["Properties"]
            role = properties["Target"]["RoleArn"]["Fn::GetAtt"][0]
            group = flat(properties.get("GroupName", "default"))
            pattern = trusted[role]
            assert pattern is not None, f"{path.name} {role}: no aws:SourceArn"
            group_arn = (
                f"arn:${{AWS::Partition}}:scheduler:{env.config.region}:{env.config.account}:schedule-group/{group}"
            )
            candidates = {group_arn, group_arn.replace("${AWS::Partition}", "aws")}
            assert any(fnmatch.fnmatchcase(arn, pattern) for arn in candidates), (
                f"{path.name} {logical_id}: in schedule group {group!r}, but {role} trusts {pattern}"
            )
            checked += 1
    assert checked >= 1
