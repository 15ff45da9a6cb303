"""What the data stack promises, asserted in every environment.

Every expected number comes from the environment's config; tests about one environment's seeded
value (prod runs two replicas, ...) say so explicitly. Logical IDs are derived from the stacks'
constructs or from the template wherever possible; the pinned ones are pinned on purpose (see
``test_stateful_logical_ids_are_pinned``).
"""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from pathlib import Path
from typing import Any

from aws_cdk import CfnElement, Stack
from aws_cdk.assertions import Match
from constructs import IConstruct

from platform_constructs.physical_names import DATABASE_NAME, cache_user, database_role
from platform_constructs.postgres import LOG_EXPORTS, PROXY_PORT
from stacks.data_parameters import SERVICE_ACCESS_POLICY, DataParameter, parameter_name, service_parameter_name
from stacks.data_stack import DataStack
from stacks.network_stack import NetworkStack
from tests.conftest import SynthesizedEnvironment

DATA = "Data"
NETWORK = "Network"
HOSTED_ROTATION_TRANSFORM = "AWS::SecretsManager-2024-09-16"
READER_NAME = "reader.db.internal"
#: Resources whose loss is data loss: they must survive stack deletion and replacement.
STATEFUL_TYPES = (
    "AWS::RDS::DBInstance",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::KMS::Key",
    "AWS::SecretsManager::Secret",
    "AWS::Logs::LogGroup",
)


# --- helpers -------------------------------------------------------------------------------------
def resources(env: SynthesizedEnvironment, resource_type: str, stack: str = DATA) -> dict[str, Any]:
    return dict(env.template(stack).find_resources(resource_type))


def data_stack(env: SynthesizedEnvironment) -> DataStack:
    stack = env.stack(DATA)
    assert isinstance(stack, DataStack)
    return stack


def network_stack(env: SynthesizedEnvironment) -> NetworkStack:
    stack = env.stack(NETWORK)
    assert isinstance(stack, NetworkStack)
    return stack


def the_one(env: SynthesizedEnvironment, resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources(env, resource_type)
    assert len(found) == 1, f"expected exactly one {resource_type}, got {sorted(found)}"
    logical_id, resource = next(iter(found.items()))
    return logical_id, resource["Properties"]


def maintenance_function(env: SynthesizedEnvironment) -> str:
    data = env.stack("Data")
    assert isinstance(data, DataStack)
    return logical_id_of(data, data.access.maintenance_function.function)


def logical_id_of(stack: Stack, construct: IConstruct) -> str:
    element = construct.node.default_child
    assert isinstance(element, CfnElement), construct.node.path
    return stack.get_logical_id(element)


def master_secret_id(env: SynthesizedEnvironment) -> str:
    """The PostgreSQL master secret (the attachment's SecretId; the construct exposes the attachment)."""
    _, attachment = the_one(env, "AWS::SecretsManager::SecretTargetAttachment")
    secret_id = str(attachment["SecretId"]["Ref"])
    assert secret_id in resources(env, "AWS::SecretsManager::Secret")
    return secret_id


def key_arn(env: SynthesizedEnvironment) -> dict[str, Any]:
    """The stack's DataKey, as every encrypted resource must reference it."""
    stack = data_stack(env)
    return {"Fn::GetAtt": [logical_id_of(stack, stack.key), "Arn"]}


def group_id(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "GroupId"]}


def primary(env: SynthesizedEnvironment) -> tuple[str, dict[str, Any]]:
    found = [
        (logical_id, r["Properties"])
        for logical_id, r in resources(env, "AWS::RDS::DBInstance").items()
        if "SourceDBInstanceIdentifier" not in r["Properties"]
    ]
    assert len(found) == 1, found
    return found[0]


def replicas(env: SynthesizedEnvironment) -> dict[str, dict[str, Any]]:
    return {
        logical_id: r["Properties"]
        for logical_id, r in resources(env, "AWS::RDS::DBInstance").items()
        if "SourceDBInstanceIdentifier" in r["Properties"]
    }


def network_output(env: SynthesizedEnvironment, value: Any) -> Any:
    """Follow a cross-stack reference into the Network template; return the output's Value there."""
    assert set(value) == {"Fn::GetStackOutput"}, value
    ref = value["Fn::GetStackOutput"]
    assert ref["StackName"] == env.stack(NETWORK).stack_name
    assert ref["Region"] == env.config.region
    outputs = env.template(NETWORK).find_outputs(ref["OutputName"])
    assert len(outputs) == 1, ref["OutputName"]
    return outputs[ref["OutputName"]]["Value"]


def service_group_id(env: SynthesizedEnvironment) -> dict[str, Any]:
    network = network_stack(env)
    return group_id(logical_id_of(network, network.service_security_group))


def dynamic_reference(value: Any) -> str:
    """Render an Fn::Join of strings and Refs as text, Refs as <Ref:Id>, to check its shape."""
    assert isinstance(value, dict), f"plaintext, not a dynamic reference: {value!r}"
    assert set(value) == {"Fn::Join"}, value
    separator, parts = value["Fn::Join"]
    return str(separator).join(part if isinstance(part, str) else f"<Ref:{part['Ref']}>" for part in parts)


def ingress_rules(env: SynthesizedEnvironment) -> list[dict[str, Any]]:
    """Standalone SecurityGroupIngress resources plus inline rules (GroupId filled in for inline ones)."""
    rules = [r["Properties"] for r in resources(env, "AWS::EC2::SecurityGroupIngress").values()]
    for logical_id, group in resources(env, "AWS::EC2::SecurityGroup").items():
        rules += [
            {**rule, "GroupId": group_id(logical_id)} for rule in group["Properties"].get("SecurityGroupIngress", [])
        ]
    return rules


def replica_hosts(replica_ids: list[str]) -> Any:
    """What the replica-hosts parameter holds: every replica's address, comma-separated."""
    addresses = [{"Fn::GetAtt": [r, "Endpoint.Address"]} for r in replica_ids]
    if not addresses:
        return "none"
    return addresses[0] if len(addresses) == 1 else {"Fn::Join": [",", addresses]}


def egress_rules(env: SynthesizedEnvironment) -> list[dict[str, Any]]:
    """Standalone SecurityGroupEgress resources plus inline rules."""
    rules = [r["Properties"] for r in resources(env, "AWS::EC2::SecurityGroupEgress").values()]
    for group in resources(env, "AWS::EC2::SecurityGroup").values():
        rules += group["Properties"].get("SecurityGroupEgress", [])
    return rules


# --- PostgreSQL primary ----------------------------------------------------------------------------
def test_primary_is_postgres_17_sized_and_protected_per_config(env: SynthesizedEnvironment) -> None:
    db = env.config.database
    env.template(DATA).has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "Engine": "postgres",
            "EngineVersion": db.engine_version,  # major only: RDS applies minor upgrades without drift
            "AutoMinorVersionUpgrade": "." not in db.engine_version,
            "AllowMajorVersionUpgrade": db.allow_major_version_upgrade,
            "DBName": DATABASE_NAME,
            "DBInstanceClass": db.instance_class,
            "StorageType": "gp3",
            "AllocatedStorage": str(db.allocated_storage_gib),
            "MaxAllocatedStorage": db.max_allocated_storage_gib,
            "MultiAZ": db.multi_az,
            "DeletionProtection": db.deletion_protection,
            "CopyTagsToSnapshot": True,
            "EnableIAMDatabaseAuthentication": True,
            "PubliclyAccessible": False,
            "EnableCloudwatchLogsExports": ["postgresql", "upgrade"],
        },
    )


def test_the_backup_plan_owns_the_primarys_retention(env: SynthesizedEnvironment) -> None:
    """The plan's continuous rule keeps database.backup_retention_days; the instance states none (RDS refuses a
    retention from the template once AWS Backup manages the instance)."""
    _, props = primary(env)
    assert "BackupRetentionPeriod" not in props
    plan = next(r for r in env.template_json(DATA)["Resources"].values() if r["Type"] == "AWS::Backup::BackupPlan")
    (rule,) = [r for r in plan["Properties"]["BackupPlan"]["BackupPlanRule"] if r.get("EnableContinuousBackup")]
    assert rule["Lifecycle"] == {"DeleteAfterDays": env.config.database.backup_retention_days}


def test_primary_encrypts_storage_and_insights_with_the_data_key(env: SynthesizedEnvironment) -> None:
    _, props = primary(env)
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"] == key_arn(env)
    assert props["EnablePerformanceInsights"] is True
    assert props["PerformanceInsightsKMSKeyId"] == key_arn(env)
    assert props["MonitoringInterval"] == 60
    role_id, attribute = props["MonitoringRoleArn"]["Fn::GetAtt"]
    assert attribute == "Arn"
    [trust] = resources(env, "AWS::IAM::Role")[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}


def test_primary_password_is_a_secrets_manager_reference(env: SynthesizedEnvironment) -> None:
    _, props = primary(env)
    secret_id = master_secret_id(env)
    for prop, field in (("MasterUserPassword", "password"), ("MasterUsername", "username")):
        assert (
            dynamic_reference(props[prop]) == f"{{{{resolve:secretsmanager:<Ref:{secret_id}>:SecretString:{field}::}}}}"
        )
    secret = resources(env, "AWS::SecretsManager::Secret")[secret_id]["Properties"]
    assert secret["GenerateSecretString"]["GenerateStringKey"] == "password"
    assert secret["KmsKeyId"] == key_arn(env)


def test_database_subnet_group_uses_the_isolated_subnets(env: SynthesizedEnvironment) -> None:
    group_logical_id, group = the_one(env, "AWS::RDS::DBSubnetGroup")
    for instance in resources(env, "AWS::RDS::DBInstance").values():
        assert instance["Properties"]["DBSubnetGroupName"] == {"Ref": group_logical_id}
    network_subnets = resources(env, "AWS::EC2::Subnet", stack=NETWORK)
    zones = []
    for subnet_ref in group["SubnetIds"]:
        subnet = network_subnets[network_output(env, subnet_ref)["Ref"]]["Properties"]
        tags = {t["Key"]: t["Value"] for t in subnet["Tags"]}
        assert tags["aws-cdk:subnet-type"] == "Isolated"
        zones.append(subnet["AvailabilityZone"])
    assert sorted(zones) == sorted(env.config.availability_zones)


# --- Read replicas ---------------------------------------------------------------------------------
def test_read_replicas_follow_config(env: SynthesizedEnvironment) -> None:
    db = env.config.database
    primary_id, _ = primary(env)
    found = replicas(env)
    assert len(found) == db.read_replicas
    env.template(DATA).resource_count_is("AWS::RDS::DBInstance", 1 + db.read_replicas)
    for props in found.values():
        assert {"Ref": primary_id} in props["SourceDBInstanceIdentifier"]["Fn::Join"][1]
        assert props["DBInstanceClass"] == db.replica_instance_class
        assert props["EnablePerformanceInsights"] is True
        assert props["PerformanceInsightsKMSKeyId"] == key_arn(env)
        # Replicas are never protected: lowering read_replicas must delete one cleanly.
        assert props["DeletionProtection"] is False
        assert props["PubliclyAccessible"] is False
    zones = [props["AvailabilityZone"] for props in found.values()]
    assert len(set(zones)) == len(zones), zones
    assert set(zones) <= set(env.config.availability_zones)


# --- Parameter group -------------------------------------------------------------------------------
def test_parameter_group_settings_come_from_config(env: SynthesizedEnvironment) -> None:
    db = env.config.database
    group_logical_id, group = the_one(env, "AWS::RDS::DBParameterGroup")
    assert group["Family"] == "postgres17"
    parameters = group["Parameters"]
    assert "pg_stat_statements" in [lib.strip() for lib in parameters["shared_preload_libraries"].split(",")]
    assert parameters["log_min_duration_statement"] == str(db.slow_query_threshold_ms)
    assert parameters["idle_in_transaction_session_timeout"] == str(db.idle_in_transaction_timeout_ms)
    assert parameters["rds.force_ssl"] == "1"
    assert parameters["log_autovacuum_min_duration"].isdigit()
    for instance in resources(env, "AWS::RDS::DBInstance").values():
        assert instance["Properties"]["DBParameterGroupName"] == {"Ref": group_logical_id}


# --- Log groups ------------------------------------------------------------------------------------
def test_postgres_log_groups_exist_before_their_instances(env: SynthesizedEnvironment) -> None:
    groups = resources(env, "AWS::Logs::LogGroup")
    by_name = {g["Properties"].get("LogGroupName"): logical_id for logical_id, g in groups.items()}
    instances = resources(env, "AWS::RDS::DBInstance")
    assert len(instances) == 1 + env.config.database.read_replicas
    for instance in instances.values():
        identifier = instance["Properties"]["DBInstanceIdentifier"]
        for log_type in LOG_EXPORTS:
            logical_id = by_name[f"/aws/rds/instance/{identifier}/{log_type}"]
            props = groups[logical_id]["Properties"]
            assert props["RetentionInDays"] == env.config.database.log_retention_days
            assert props["KmsKeyId"] == key_arn(env)
            assert logical_id in instance["DependsOn"]  # RDS would otherwise create it, unencrypted, forever


def test_cache_delivers_slow_and_engine_logs_to_encrypted_groups(env: SynthesizedEnvironment) -> None:
    _, group = the_one(env, "AWS::ElastiCache::ReplicationGroup")
    deliveries = {d["LogType"]: d for d in group["LogDeliveryConfigurations"]}
    assert sorted(deliveries) == ["engine-log", "slow-log"]
    log_groups = resources(env, "AWS::Logs::LogGroup")
    for delivery in deliveries.values():
        assert delivery["DestinationType"] == "cloudwatch-logs"
        target = log_groups[delivery["DestinationDetails"]["CloudWatchLogsDetails"]["LogGroup"]["Ref"]]["Properties"]
        assert target["RetentionInDays"] == env.config.cache.log_retention_days
        assert target["KmsKeyId"] == key_arn(env)


# --- RDS Proxy -------------------------------------------------------------------------------------
def test_proxy_requires_tls_and_uses_iam_end_to_end(env: SynthesizedEnvironment) -> None:
    """No service holds a password: clients and the proxy itself log in with IAM."""
    _, attachment = the_one(env, "AWS::SecretsManager::SecretTargetAttachment")
    assert attachment["SecretId"] == {"Ref": master_secret_id(env)}
    assert attachment["TargetId"] == {"Ref": primary(env)[0]}  # the secret carries the primary's host and port
    _, proxy = the_one(env, "AWS::RDS::DBProxy")
    assert proxy["RequireTLS"] is True
    assert proxy["EngineFamily"] == "POSTGRESQL"
    assert proxy["DefaultAuthScheme"] == "IAM_AUTH"
    assert "Auth" not in proxy, "the proxy must hold no secret"
    # Its role may log in as exactly the service roles, on the primary.
    roles = sorted(database_role(n) for n, s in env.config.services.items() if s.database)
    role_ref = {"Ref": proxy["RoleArn"]["Fn::GetAtt"][0]}
    (policy,) = [
        p["Properties"]
        for p in resources(env, "AWS::IAM::ManagedPolicy").values()
        if p["Properties"].get("Roles") == [role_ref]
    ]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "rds-db:connect"
    users = sorted(json.dumps(arn).rsplit("/", 1)[1].rstrip('"]}') for arn in statement["Resource"])
    assert users == roles


def test_proxy_pool_follows_config(env: SynthesizedEnvironment) -> None:
    proxy = env.config.database.proxy
    proxy_id, _ = the_one(env, "AWS::RDS::DBProxy")
    primary_id, _ = primary(env)
    env.template(DATA).has_resource_properties(
        "AWS::RDS::DBProxyTargetGroup",
        {
            "DBProxyName": {"Ref": proxy_id},
            "DBInstanceIdentifiers": [{"Ref": primary_id}],
            "ConnectionPoolConfigurationInfo": {
                "ConnectionBorrowTimeout": proxy.borrow_timeout_seconds,
                "MaxConnectionsPercent": proxy.max_connections_percent,
                "MaxIdleConnectionsPercent": proxy.max_idle_connections_percent,
            },
        },
    )


# --- Secret rotation -------------------------------------------------------------------------------
def test_master_secret_rotates_with_our_function_on_the_configured_schedule(env: SynthesizedEnvironment) -> None:
    attachment_id, _ = the_one(env, "AWS::SecretsManager::SecretTargetAttachment")
    stack = data_stack(env)
    function = stack.postgres.rotation_function
    assert function is not None
    env.template(DATA).has_resource_properties(
        "AWS::SecretsManager::RotationSchedule",
        {
            "SecretId": {"Ref": attachment_id},
            "RotationRules": {"ScheduleExpression": f"rate({env.config.database.credential_rotation_days} days)"},
            "RotationLambdaARN": {"Fn::GetAtt": [logical_id_of(stack, function.function), "Arn"]},
            "RotateImmediatelyOnUpdate": False,  # a schedule change never rotates during a deploy
        },
    )
    # No transform: the function is ours, in the template, and every compliance pack reviews it.
    assert "Transform" not in env.template_json(DATA)
    assert HOSTED_ROTATION_TRANSFORM not in json.dumps(env.template_json(DATA))


# --- Reader endpoint -------------------------------------------------------------------------------
def test_reader_name_spreads_over_every_replica(env: SynthesizedEnvironment) -> None:
    zone_id, zone = the_one(env, "AWS::Route53::HostedZone")
    assert zone["Name"] == "db.internal."
    [vpc] = zone["VPCs"]  # private: bound to the platform VPC
    network = network_stack(env)
    assert network_output(env, vpc["VPCId"]) == {"Ref": logical_id_of(network, network.vpc)}
    records = [r["Properties"] for r in resources(env, "AWS::Route53::RecordSet").values()]
    assert len(records) == env.config.database.read_replicas
    for record in records:
        assert record["HostedZoneId"] == {"Ref": zone_id}
        assert record["Name"] == f"{READER_NAME}."
        assert record["Type"] == "CNAME"
    assert len({r["Weight"] for r in records}) == 1
    assert records[0]["Weight"] > 0
    assert len({r["SetIdentifier"] for r in records}) == len(records)
    targets = sorted(r["ResourceRecords"][0]["Fn::GetAtt"][0] for r in records)
    assert [r["ResourceRecords"][0]["Fn::GetAtt"][1] for r in records] == ["Endpoint.Address"] * len(records)
    assert targets == sorted(replicas(env))


# --- Cache -----------------------------------------------------------------------------------------
def test_cache_replication_group_follows_config(env: SynthesizedEnvironment) -> None:
    cache = env.config.cache
    env.template(DATA).has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {
            "Engine": cache.engine,
            "CacheNodeType": cache.node_type,
            "NumCacheClusters": cache.replicas + 1,  # in place, unlike ReplicasPerNodeGroup
            "ReplicasPerNodeGroup": Match.absent(),
            "AutomaticFailoverEnabled": True,
            "MultiAZEnabled": cache.multi_az,
            "TransitEncryptionEnabled": True,
            "TransitEncryptionMode": "required",
            "AtRestEncryptionEnabled": True,
            "KmsKeyId": key_arn(env),
            "SnapshotRetentionLimit": cache.snapshot_retention_days,
        },
    )


def test_cache_users_per_service_with_iam_and_no_auth_token(env: SynthesizedEnvironment) -> None:
    """Each service its own IAM user limited to its key prefixes; the built-in default user is disabled."""
    stack = data_stack(env)
    _, group = the_one(env, "AWS::ElastiCache::ReplicationGroup")
    assert "AuthToken" not in group
    user_group_id, user_group = the_one(env, "AWS::ElastiCache::UserGroup")
    assert group["UserGroupIds"] == [{"Ref": user_group_id}]
    users = {u["Properties"]["UserId"]: u["Properties"] for u in resources(env, "AWS::ElastiCache::User").values()}
    expected = {
        cache_user(env.config.name, name): s.cache_key_prefixes
        for name, s in env.config.services.items()
        if s.cache_key_prefixes
    }
    service_users = {uid: props for uid, props in users.items() if props["UserName"] != "default"}
    assert sorted(service_users) == sorted(expected)
    for user_id, prefixes in expected.items():
        props = service_users[user_id]
        assert props["UserName"] == user_id  # IAM users: name and id identical
        assert props["AuthenticationMode"] == {"Type": "iam"}
        keys = [part[1:-1] for part in props["AccessString"].split() if part.startswith("~")]
        assert keys == list(prefixes), user_id
        assert props["AccessString"].startswith("on ")
        # SCAN and RANDOMKEY ignore key patterns: a service could otherwise list the others' keys.
        assert props["AccessString"].endswith("-@dangerous -scan -randomkey")
    (default,) = [props for props in users.values() if props["UserName"] == "default"]
    assert default["AccessString"].startswith("off")
    assert len(user_group["UserIds"]) == len(users)
    assert stack.cache.auth_secret is None
    parameter_group_id, parameter_group = the_one(env, "AWS::ElastiCache::ParameterGroup")
    assert group["CacheParameterGroupName"] == {"Ref": parameter_group_id}
    assert parameter_group["Properties"]["maxmemory-policy"] == env.config.cache.maxmemory_policy


# --- Security groups -------------------------------------------------------------------------------
def test_every_ingress_rule_names_a_source_security_group(env: SynthesizedEnvironment) -> None:
    rules = ingress_rules(env)
    assert rules, "the data stack should admit someone"
    for rule in rules:
        assert "SourceSecurityGroupId" in rule, rule
        for key in ("CidrIp", "CidrIpv6", "SourcePrefixListId"):
            assert key not in rule, rule
    # The only open addresses, both HTTPS: the retired bootstrap responder's egress to S3 (the custom-resource
    # response; removed in the next release) through the gateway endpoint, from isolated subnets that have
    # no other route out; and the restore drill's to the AWS APIs it calls (AWS Backup, RDS, CloudWatch),
    # through NAT from the private subnets.
    open_rules = [r for r in egress_rules(env) if r.get("CidrIp") == "0.0.0.0/0"]
    assert sorted((r["FromPort"], r["ToPort"], r.get("Description", "")) for r in open_rules) == [
        (443, 443, "AWS Backup, RDS, CloudWatch"),
        (443, 443, "HTTPS to AWS endpoints"),
    ]
    assert str(env.template_json(DATA)).count("0.0.0.0/0") == 2


def test_services_reach_proxy_replicas_and_cache_but_not_the_primary(env: SynthesizedEnvironment) -> None:
    services = service_group_id(env)
    _, proxy = the_one(env, "AWS::RDS::DBProxy")
    _, cache = the_one(env, "AWS::ElastiCache::ReplicationGroup")
    primary_id, primary_props = primary(env)
    [proxy_sg] = proxy["VpcSecurityGroupIds"]
    [cache_sg] = cache["SecurityGroupIds"]
    [primary_sg] = primary_props["VPCSecurityGroups"]
    stack = data_stack(env)
    rotation_function = stack.postgres.rotation_function
    assert rotation_function is not None
    function_props = resources(env, "AWS::Lambda::Function")[logical_id_of(stack, rotation_function.function)]
    [rotation_sg] = function_props["Properties"]["VpcConfig"]["SecurityGroupIds"]
    jobs = [
        {"Fn::GetAtt": [logical_id_of(stack, group), "GroupId"]}
        for group in (stack.access.bootstrap_security_group, stack.access.maintenance_security_group)
    ]
    reader_sgs = {sg["Fn::GetAtt"][0] for r in replicas(env).values() for sg in r["VPCSecurityGroups"]}
    assert len(reader_sgs) == 1
    reader_sg = group_id(reader_sgs.pop())
    db_port = int(primary_props["Port"])

    def sources(group: dict[str, Any], port: int) -> list[Any]:
        found = []
        for rule in ingress_rules(env):
            if rule["GroupId"] == group:
                assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", port, port), rule
                source = rule["SourceSecurityGroupId"]
                found.append(network_output(env, source) if "Fn::GetStackOutput" in source else source)
        return found

    assert services in sources(proxy_sg, PROXY_PORT)
    assert services in sources(reader_sg, db_port)
    assert services in sources(cache_sg, cache["Port"])
    # The primary: the proxy, and the functions that administer it with the master secret.
    assert sorted(map(str, sources(primary_sg, db_port))) == sorted(map(str, [proxy_sg, rotation_sg, *jobs]))
    assert services not in sources(primary_sg, db_port), primary_id


# --- No data loss ----------------------------------------------------------------------------------
def test_stateful_resources_are_snapshotted_or_retained(env: SynthesizedEnvironment) -> None:
    for resource_type in STATEFUL_TYPES:
        found = resources(env, resource_type)
        assert found, resource_type
        for logical_id, resource in found.items():
            replica = "SourceDBInstanceIdentifier" in resource.get("Properties", {})
            # Replicas hold no data of their own; dev's log groups go with dev, which is deployed again.
            disposable = replica or (resource_type == "AWS::Logs::LogGroup" and env.config.is_disposable)
            for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                # RetainExceptOnCreate: kept as Retain keeps it, except by a failed create (test_retained_resources).
                kept = (
                    ("Snapshot", "Retain", "RetainExceptOnCreate")
                    if policy == "DeletionPolicy"
                    else ("Snapshot", "Retain")
                )
                expected = ("Delete",) if disposable else kept
                assert resource.get(policy) in expected, (logical_id, policy, resource.get(policy))
    env.template(DATA).has_resource(
        "AWS::RDS::DBInstance",
        {"Properties": {"DBInstanceIdentifier": f"ticketing-{env.config.name}-postgres"}, "DeletionPolicy": "Snapshot"},
    )


def test_cache_outlives_its_stack_outside_dev(env: SynthesizedEnvironment) -> None:
    """staging and prod keep the replication group when the stack goes (but not after a failed create, when it
    holds nothing and its users' fixed ids would block the retry); dev leaves a final snapshot."""
    expected = ("Snapshot", "Snapshot") if env.config.name == "dev" else ("RetainExceptOnCreate", "Retain")
    env.template(DATA).has_resource(
        "AWS::ElastiCache::ReplicationGroup", {"DeletionPolicy": expected[0], "UpdateReplacePolicy": expected[1]}
    )


PINNED_LOGICAL_IDS = {
    "PostgresPrimaryE59F2C4B": "AWS::RDS::DBInstance",
    "PostgresMasterSecretAC59FC1A": "AWS::SecretsManager::Secret",
    "Cache18F6EE16": "AWS::ElastiCache::ReplicationGroup",
    # The shared AUTH token (CacheAuthSecretB5146BA1) was replaced by IAM users: see the README's migration notes.
    "DataKey17AFBB84": "AWS::KMS::Key",
}
#: Replica N is PINNED_REPLICA_IDS[N - 1]; an environment with read_replicas = n has the first n.
PINNED_REPLICA_IDS = ("PostgresReplica1217B07FC", "PostgresReplica2A2F9C6A8")


def test_stateful_logical_ids_are_pinned(env: SynthesizedEnvironment) -> None:
    """A changed logical ID is a new resource to CloudFormation: it creates the new one and deletes the old.

    For the database that means a new, empty instance (the old one leaves only a final snapshot);
    for the key, every snapshot and secret encrypted with it becomes unreadable once the old key is
    scheduled for deletion. Renaming or moving one of these constructs must therefore be a conscious
    migration, not a side effect of a refactoring: update this table only together with that plan.
    """
    count = env.config.database.read_replicas
    assert count <= len(PINNED_REPLICA_IDS), "pin the logical ID of every new replica here"
    expected = {**PINNED_LOGICAL_IDS, **dict.fromkeys(PINNED_REPLICA_IDS[:count], "AWS::RDS::DBInstance")}
    template = env.template_json(DATA)["Resources"]
    for logical_id, resource_type in expected.items():
        assert logical_id in template, f"{logical_id} ({resource_type}) was renamed: CloudFormation would replace it"
        assert template[logical_id]["Type"] == resource_type
    assert sorted(resources(env, "AWS::RDS::DBInstance")) == sorted(
        logical_id for logical_id, resource_type in expected.items() if resource_type == "AWS::RDS::DBInstance"
    )


# --- Stack -----------------------------------------------------------------------------------------
def test_stack_name_protection_and_dependency(env: SynthesizedEnvironment) -> None:
    stack = env.stack(DATA)
    assert stack.stack_name == f"ticketing-{env.config.name}-data"
    assert stack.account == env.config.account
    assert stack.region == env.config.region
    assert stack.termination_protection is (env.config.name != "dev")
    assert env.stack(NETWORK) in stack.dependencies


# --- SSM handoff -----------------------------------------------------------------------------------
def test_every_data_parameter_is_published_to_ssm(env: SynthesizedEnvironment) -> None:
    name = env.config.name
    parameters = {p["Properties"]["Name"]: p["Properties"] for p in resources(env, "AWS::SSM::Parameter").values()}
    per_service = {n for n in parameters if "/services/" in n}
    assert sorted(set(parameters) - per_service) == sorted(parameter_name(name, member) for member in DataParameter)
    with_access = [s for s, settings in env.config.services.items() if settings.database or settings.cache_key_prefixes]
    assert sorted(per_service) == sorted(service_parameter_name(name, s, SERVICE_ACCESS_POLICY) for s in with_access)

    proxy_id, _ = the_one(env, "AWS::RDS::DBProxy")
    primary_id, primary_props = primary(env)
    cache_id, _ = the_one(env, "AWS::ElastiCache::ReplicationGroup")
    expected = {
        DataParameter.DATABASE_WRITER_HOST: {"Fn::GetAtt": [proxy_id, "Endpoint"]},
        DataParameter.DATABASE_READER_HOST: READER_NAME,
        DataParameter.DATABASE_PRIMARY_HOST: {"Fn::GetAtt": [primary_id, "Endpoint.Address"]},
        DataParameter.DATABASE_PORT: "5432",  # the proxy's port: writers connect through it
        DataParameter.DATABASE_READER_PORT: primary_props["Port"],  # replicas listen where the primary does
        DataParameter.DATABASE_REPLICA_HOSTS: replica_hosts(sorted(replicas(env))),
        DataParameter.DATABASE_NAME: DATABASE_NAME,
        DataParameter.CACHE_PRIMARY_HOST: {"Fn::GetAtt": [cache_id, "PrimaryEndPoint.Address"]},
        DataParameter.CACHE_READER_HOST: {"Fn::GetAtt": [cache_id, "ReaderEndPoint.Address"]},
        DataParameter.CACHE_PORT: {"Fn::GetAtt": [cache_id, "PrimaryEndPoint.Port"]},
        DataParameter.CACHE_REPLICATION_GROUP_ID: {"Ref": cache_id},
        DataParameter.MAINTENANCE_FUNCTION_NAME: {"Ref": maintenance_function(env)},
    }
    assert sorted(expected) == sorted(DataParameter)
    for member, value in expected.items():
        parameter = parameters[parameter_name(name, member)]
        assert parameter["Type"] == "String"
        assert parameter["Value"] == value, member


# --- Seeded values per environment ---------------------------------------------------------------
def test_seeded_values_per_environment(platform: Any) -> None:
    prod = platform("prod")
    assert prod.config.database.read_replicas == 2
    prod.template(DATA).resource_count_is("AWS::RDS::DBInstance", 3)
    prod.template(DATA).resource_count_is("AWS::Route53::RecordSet", 2)
    assert prod.config.database.deletion_protection is True
    for instance in resources(prod, "AWS::RDS::DBInstance").values():
        is_replica = "SourceDBInstanceIdentifier" in instance["Properties"]
        assert instance["Properties"]["DeletionProtection"] is not is_replica
    assert prod.stack(DATA).termination_protection is True
    assert platform("dev").config.database.deletion_protection is False
    for name in ("dev", "staging", "prod"):
        platform(name).template(DATA).has_resource_properties(
            "AWS::RDS::DBProxyTargetGroup",
            {"ConnectionPoolConfigurationInfo": Match.object_like({"ConnectionBorrowTimeout": 30})},
        )


# --- Service access --------------------------------------------------------------------------------
def test_each_service_may_log_in_only_as_itself(env: SynthesizedEnvironment) -> None:
    """rds-db:connect for its own role (proxy and replicas), elasticache:Connect for its own user."""
    stack = data_stack(env)
    assert sorted(stack.service_access) == sorted(
        n for n, s in env.config.services.items() if s.database or s.cache_key_prefixes
    )
    for service, policy in stack.service_access.items():
        settings = env.config.services[service]
        statements = resources(env, "AWS::IAM::ManagedPolicy")[logical_id_of(stack, policy)]["Properties"][
            "PolicyDocument"
        ]["Statement"]
        by_action = {s["Action"]: json.dumps(s["Resource"]) for s in statements}
        if settings.database:
            role = database_role(service)
            users = {part.split('"')[0] for part in by_action["rds-db:connect"].split("/")[1:]}
            assert users == {role}, (service, users)
            connect = by_action["rds-db:connect"]
            expected = 1 + env.config.database.read_replicas  # the proxy and every replica, never the primary
            assert connect.count("dbuser:") == expected
            assert primary(env)[0] not in connect
            # dbuser ARNs name resource ids: each replica's DbiResourceId and the proxy's prx- id (7th field).
            for replica_id in replicas(env):
                assert json.dumps({"Fn::GetAtt": [replica_id, "DbiResourceId"]}) in connect, replica_id
            proxy_id, _ = the_one(env, "AWS::RDS::DBProxy")
            assert (
                json.dumps({"Fn::Select": [6, {"Fn::Split": [":", {"Fn::GetAtt": [proxy_id, "DBProxyArn"]}]}]})
                in connect
            )
        else:
            assert "rds-db:connect" not in by_action
        if settings.cache_key_prefixes:
            assert f":user:{cache_user(env.config.name, service)}" in by_action["elasticache:Connect"]
            others = [cache_user(env.config.name, o) for o in env.config.services if o != service]
            assert not any(f':user:{o}"' in by_action["elasticache:Connect"] for o in others)


def test_bootstrap_creates_every_service_database_with_its_role(env: SynthesizedEnvironment) -> None:
    (bootstrap,) = [r["Properties"] for r in resources(env, "Custom::DatabaseBootstrap").values()]
    spec = json.loads(bootstrap["Spec"])
    assert spec["iam_role"] == "rds_iam"
    assert {(d["name"], d["owner_role"]) for d in spec["databases"]} == {
        (s.database, database_role(n)) for n, s in env.config.services.items() if s.database
    }
    assert all(d["extensions"] == list(env.config.database.extensions) for d in spec["databases"])
    assert bootstrap["CaFile"] == "/var/task/pg_common/rds-ca-bundle.pem"


def test_proxy_target_group_waits_for_the_bootstrap_explicitly(env: SynthesizedEnvironment) -> None:
    """The proxy logs in as the service roles the bootstrap creates: its target group must not register the
    primary before they exist, by a DependsOn of its own (not through the order of other resources)."""
    ((bootstrap_id, _),) = resources(env, "Custom::DatabaseBootstrap").items()
    ((_, target_group),) = resources(env, "AWS::RDS::DBProxyTargetGroup").items()
    depends_on = target_group.get("DependsOn", [])
    assert bootstrap_id in ([depends_on] if isinstance(depends_on, str) else depends_on)


def test_maintenance_runs_in_the_configured_time_zone(env: SynthesizedEnvironment) -> None:
    schedules = {s["Properties"]["Description"].rsplit(", ", 1)[1]: s["Properties"]
                 for s in resources(env, "AWS::Scheduler::Schedule").values()
                 if "MaintenanceFunction" in json.dumps(s["Properties"]["Target"]["Arn"])}  # fmt: skip
    # One VACUUM run per database, so no run can outlast a Lambda's 15 minutes.
    assert sorted(schedules) == ["partitions", "report", "vacuum of ticketing_auth", "vacuum of ticketing_events"]
    hour, minute = (int(p) for p in env.config.maintenance.daily_at.split(":"))
    for task, schedule in schedules.items():
        assert schedule["ScheduleExpressionTimezone"] == env.config.maintenance.time_zone == "Asia/Seoul"
        assert schedule["ScheduleExpression"].startswith(f"cron({minute} {hour} ")
        payload = json.loads(schedule["Target"]["Input"])
        assert payload["task"] == task.split()[0]
    vacuum = {
        database: tables
        for task in ("vacuum of ticketing_events", "vacuum of ticketing_auth")
        for database, tables in json.loads(schedules[task]["Target"]["Input"])["databases"].items()
    }
    assert vacuum == {"ticketing_events": ["events"], "ticketing_auth": ["users"]}  # the guide's cron lines
    partitions = json.loads(schedules["partitions"]["Target"]["Input"])["tables"]
    assert partitions == [{"column": "created_at", "database": "ticketing_bookings", "months_ahead": 3,
                           "table": "bookings"}]  # fmt: skip


def test_every_function_runs_a_supported_runtime_on_arm64_in_the_vpc(env: SynthesizedEnvironment) -> None:
    """The bootstrap, maintenance and rotation functions in the isolated subnets; the restore drill's in the
    private ones (it calls AWS Backup and RDS, which have no endpoint in the VPC)."""
    spec = importlib.util.find_spec("cfnlint")  # its runtime lifecycle data, without importing cfn-lint
    assert spec is not None
    assert spec.submodule_search_locations
    lifecycle = json.loads(
        (
            Path(next(iter(spec.submodule_search_locations))) / "data" / "AdditionalSpecs" / "LmbdRuntimeLifecycle.json"
        ).read_text(encoding="utf-8")
    )
    functions = resources(env, "AWS::Lambda::Function")
    # The provider framework's function runs outside the VPC (tests/test_database_bootstrap_provider.py).
    stack = data_stack(env)
    del functions[logical_id_of(stack, stack.access.bootstrap_provider.node.find_child("framework-onEvent"))]
    assert len(functions) == 5  # rotation, restore drill, bootstrap, maintenance, retired bootstrap's responder
    for logical_id, function in functions.items():
        props = function["Properties"]
        runtime = props["Runtime"]
        deprecated = lifecycle[runtime]["deprecated"]
        assert date.fromisoformat(deprecated) > date(2027, 12, 31), (logical_id, runtime, deprecated)
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert "VpcConfig" in props
    assert "AWS::SecretsManager-2024-09-16" not in json.dumps(env.template_json(DATA))
