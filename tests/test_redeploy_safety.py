"""Physical names and policies that decide whether a teardown, a redeploy or a shared account works.

- dev is torn down and deployed again: nothing it leaves behind may carry a fixed name its next
  deploy creates again (that is what made the retained RDS log groups collide).
- Environments may share one account: every fixed name carries the environment's name.
- The data key admits CloudWatch Logs for the stack's named log groups only, and no key-policy
  statement names a role created in the same deploy (IAM propagation would race the key's creation).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.conftest import SynthesizedEnvironment

#: Properties that fix a resource's physical name, per type (what CloudFormation would create again).
NAME_PROPERTIES = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::RDS::DBProxy": "DBProxyName",
    "AWS::SSM::Parameter": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::ElastiCache::ReplicationGroup": "ReplicationGroupId",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::KMS::Alias": "AliasName",
}
# Not listed: the private hosted zone (db.internal) and its records, whose names are unique per VPC.


def named_resources(
    env: SynthesizedEnvironment, *, stack: str | None = None
) -> Iterator[tuple[str, dict[str, Any], str]]:
    for found in env.stacks:
        if stack is not None and found.node.id != stack:
            continue
        stack_id = found.node.id
        for logical_id, resource in env.template_json(stack_id)["Resources"].items():
            prop = NAME_PROPERTIES.get(resource["Type"])
            name = resource.get("Properties", {}).get(prop) if prop else None
            if isinstance(name, str):
                yield logical_id, resource, name


def test_dev_leaves_nothing_with_a_fixed_name_behind(platform: Any) -> None:
    dev: SynthesizedEnvironment = platform("dev")
    assert dev.config.is_disposable
    left_behind = [
        (logical_id, name)
        for logical_id, resource, name in named_resources(dev)
        if resource.get("DeletionPolicy") == "Retain"
    ]
    assert left_behind == [], "a redeploy of dev would collide with these retained names"


def test_every_fixed_name_carries_the_environment(env: SynthesizedEnvironment) -> None:
    found = list(named_resources(env))
    assert found, "expected named log groups, instances and parameters"
    for logical_id, _, name in found:
        assert f"-{env.config.name}-" in name or f"/{env.config.name}/" in name, (logical_id, name)


def test_data_key_admits_logs_only_for_named_groups_and_names_no_new_role(env: SynthesizedEnvironment) -> None:
    template = env.template_json("Data")
    key = next(r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key")
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        principal = statement.get("Principal", {})
        if principal.get("Service", "").startswith("logs."):
            arns = statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
            assert all(isinstance(a, str) and not a.endswith("*") for a in arns), arns
            assert "ArnLike" not in statement["Condition"], statement
        aws = principal.get("AWS")
        for entry in aws if isinstance(aws, list) else [aws]:
            assert not (isinstance(entry, dict) and "Fn::GetAtt" in entry), (
                f"key policy names a role of this deploy: {aws}"
            )
    named_groups = {
        name for _, resource, name in named_resources(env, stack="Data") if resource["Type"] == "AWS::Logs::LogGroup"
    }
    admitted = {
        arn.rsplit(":log-group:", 1)[1]
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if statement.get("Principal", {}).get("Service", "").startswith("logs.")
        for arn in statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    }
    # Every log group of the stack is named, and the key admits exactly those.
    assert admitted == named_groups


#: The RDS Proxy's name as deployed: DBProxyName is create-only, so a changed name replaces the proxy (and every
#: service would keep the deleted endpoint until redeployed). It carries the primary's original identifier,
#: never a restore's suffix, and the digest of its subnets (README: Runbook: restore the primary into the stack).
DEPLOYED_PROXY_NAMES = {
    "dev": "ticketing-dev-postgres-proxy-d369b4e3",
    "staging": "ticketing-staging-postgres-proxy-1ebb38db",
    "prod": "ticketing-prod-postgres-proxy-660a7808",
}


def test_the_proxy_keeps_its_deployed_name(env: SynthesizedEnvironment) -> None:
    proxies = [r for r in env.template_json("Data")["Resources"].values() if r["Type"] == "AWS::RDS::DBProxy"]
    assert [p["Properties"]["DBProxyName"] for p in proxies] == [DEPLOYED_PROXY_NAMES[env.config.name]]
