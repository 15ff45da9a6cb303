"""Every service principal that assumes a role or invokes a function is limited to this account's sources.

Read from every synthesised template of every environment, generically: each `Principal: {Service: ...}` of
a role's trust policy and each `AWS::Lambda::Permission` for a service either carries `aws:SourceAccount`
(this environment's account) and `aws:SourceArn` (a resource of that service in this account), or its
service is one of `NO_SOURCE_KEYS`, whose documentation names no such key for that use: a key the service
does not send makes the condition false and denies it at run time. The README's table
("Service principals and their source conditions") lists exactly these exceptions.
"""

from __future__ import annotations

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
    "ecs-tasks.amazonaws.com": "ECS shows the keys for a task role's trust only, not for the task execution role "
    "that pulls images and reads secrets; both come from one helper of the services tier, unchanged here",
    "rds.amazonaws.com": "RDS Proxy's IAM set-up gives the proxy role's trust without them; RDS's confused-deputy "
    "page covers resource policies and the feature roles it lists, not the proxy",
    "backup.amazonaws.com": "AWS Backup's confused-deputy page names the keys for resource policies (SNS topics "
    "with the vault's ARN, key policies), not for the role a backup plan's selection passes to it",
    "sns.amazonaws.com": "SNS's delivery-status logging gives the feedback role's trust without them",
}
#: The ARN service each conditioned principal acts for (its source ARN must name a resource of that service).
SOURCE_SERVICE: dict[str, str] = {
    "scheduler.amazonaws.com": "scheduler",
    "states.amazonaws.com": "states",
    "vpc-flow-logs.amazonaws.com": "ec2",
    "monitoring.rds.amazonaws.com": "rds",
    "secretsmanager.amazonaws.com": "secretsmanager",
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


def grants(env: SynthesizedEnvironment) -> Iterator[tuple[str, str, str, str | None, str | None]]:
    for path in env.template_files():
        for grant in service_grants(json.loads(path.read_text(encoding="utf-8"))):
            yield (path.name, *grant)


def test_every_service_principal_carries_its_source_or_is_a_documented_exception(
    env: SynthesizedEnvironment,
) -> None:
    problems = []
    for template, logical_id, service, account, arn in grants(env):
        if service in NO_SOURCE_KEYS:
            continue
        where = f"{template} {logical_id} ({service})"
        if account not in (env.config.account, "${AWS::AccountId}"):
            problems.append(f"{where}: aws:SourceAccount is {account!r}, not the environment's account")
        expected = SOURCE_SERVICE.get(service)
        if expected is None:
            problems.append(f"{where}: a service not yet classified: add it to SOURCE_SERVICE or NO_SOURCE_KEYS")
        elif arn is None or not re.match(rf"arn:\$\{{AWS::Partition\}}:{expected}:|arn:aws:{expected}:|\$\{{", arn):
            problems.append(f"{where}: aws:SourceArn {arn!r} is not a {expected} resource")
        elif arn.startswith("arn:") and f":{env.config.account}:" not in arn and ":${AWS::AccountId}:" not in arn:
            problems.append(f"{where}: aws:SourceArn {arn!r} is not in this account")
    assert problems == []


def test_the_exceptions_are_all_in_use_and_conditioned_services_really_are(
    platform: Callable[[str], SynthesizedEnvironment],
) -> None:
    """No stale exception, and each conditioned service of SOURCE_SERVICE appears, conditioned, somewhere."""
    seen = {service for name in ENVIRONMENT_NAMES for _, _, service, _, _ in grants(platform(name))}
    assert set(NO_SOURCE_KEYS) <= seen, f"exceptions no template uses: {set(NO_SOURCE_KEYS) - seen}"
    assert set(SOURCE_SERVICE) <= seen, f"conditioned services no template uses: {set(SOURCE_SERVICE) - seen}"
    assert not set(NO_SOURCE_KEYS) & set(SOURCE_SERVICE)


def test_the_readme_table_lists_exactly_the_exceptions() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Service principals and their source conditions", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9.-]+\.amazonaws\.com)` \| ([^|]+) \|", section, flags=re.MULTILINE)
    without = {service for service, keys in rows if keys.strip() == "none"}
    with_keys = {service for service, keys in rows if keys.strip() != "none"}
    assert without == set(NO_SOURCE_KEYS)
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
