"""What the data stack promises, asserted in every environment.

Every expected number comes from the environment's config; tests about one environment's seeded
value (prod runs two replicas, ...) say so explicitly. Logical IDs are derived from the stacks'
constructs or from the template wherever possible; the pinned ones are pinned on purpose (see
``test_stateful_logical_ids_are_pinned``).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnElement, Stack
from aws_cdk.assertions import Match
from constructs import IConstruct

from platform_constructs.postgres import LOG_EXPORTS, PROXY_PORT
from stacks.data_parameters import DataParameter, parameter_name
from stacks.data_stack import DATABASE_NAME, DataStack
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
            "BackupRetentionPeriod": db.backup_retention_days,
            "DeletionProtection": db.deletion_protection,
            "CopyTagsToSnapshot": True,
            "EnableIAMDatabaseAuthentication": True,
            "PubliclyAccessible": False,
            "EnableCloudwatchLogsExports": ["postgresql", "upgrade"],
        },
    )


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
def test_proxy_requires_tls_and_authenticates_with_the_master_secret(env: SynthesizedEnvironment) -> None:
    attachment_id, attachment = the_one(env, "AWS::SecretsManager::SecretTargetAttachment")
    assert attachment["SecretId"] == {"Ref": master_secret_id(env)}
    assert attachment["TargetId"] == {"Ref": primary(env)[0]}  # the secret carries the primary's host and port
    secret_ref = {"Ref": attachment_id}  # Ref of an attachment is the secret's ARN
    env.template(DATA).has_resource_properties(
        "AWS::RDS::DBProxy",
        {
            "RequireTLS": True,
            "EngineFamily": "POSTGRESQL",
            "Auth": [Match.object_like({"AuthScheme": "SECRETS", "SecretArn": secret_ref})],
        },
    )


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
def test_master_secret_rotates_on_the_configured_schedule(env: SynthesizedEnvironment) -> None:
    attachment_id, _ = the_one(env, "AWS::SecretsManager::SecretTargetAttachment")
    env.template(DATA).has_resource_properties(
        "AWS::SecretsManager::RotationSchedule",
        {
            "SecretId": {"Ref": attachment_id},
            "RotationRules": {"ScheduleExpression": f"rate({env.config.database.credential_rotation_days} days)"},
            "HostedRotationLambda": Match.object_like(
                {"RotationType": "PostgreSQLSingleUser", "KmsKeyArn": key_arn(env)}
            ),
        },
    )
    transform = env.template_json(DATA)["Transform"]
    assert HOSTED_ROTATION_TRANSFORM in ([transform] if isinstance(transform, str) else transform)


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


def test_cache_auth_token_and_parameters(env: SynthesizedEnvironment) -> None:
    stack = data_stack(env)
    _, group = the_one(env, "AWS::ElastiCache::ReplicationGroup")
    secret_id = logical_id_of(stack, stack.cache.auth_secret)
    assert dynamic_reference(group["AuthToken"]) == f"{{{{resolve:secretsmanager:<Ref:{secret_id}>:SecretString:::}}}}"
    assert resources(env, "AWS::SecretsManager::Secret")[secret_id]["Properties"]["KmsKeyId"] == key_arn(env)
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
    assert "0.0.0.0/0" not in str(env.template_json(DATA))


def test_services_reach_proxy_replicas_and_cache_but_not_the_primary(env: SynthesizedEnvironment) -> None:
    services = service_group_id(env)
    _, proxy = the_one(env, "AWS::RDS::DBProxy")
    _, cache = the_one(env, "AWS::ElastiCache::ReplicationGroup")
    _, rotation = the_one(env, "AWS::SecretsManager::RotationSchedule")
    primary_id, primary_props = primary(env)
    [proxy_sg] = proxy["VpcSecurityGroupIds"]
    [cache_sg] = cache["SecurityGroupIds"]
    [primary_sg] = primary_props["VPCSecurityGroups"]
    rotation_sg = rotation["HostedRotationLambda"]["VpcSecurityGroupIds"]
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
    assert sorted(map(str, sources(primary_sg, db_port))) == sorted(map(str, [proxy_sg, rotation_sg]))
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
                expected = ("Delete",) if disposable else ("Snapshot", "Retain")
                assert resource.get(policy) in expected, (logical_id, policy, resource.get(policy))
    env.template(DATA).has_resource(
        "AWS::RDS::DBInstance",
        {"Properties": {"DBInstanceIdentifier": f"ticketing-{env.config.name}-postgres"}, "DeletionPolicy": "Snapshot"},
    )


def test_cache_outlives_its_stack_outside_dev(env: SynthesizedEnvironment) -> None:
    """staging and prod keep the replication group when the stack goes; dev leaves a final snapshot."""
    expected = "Snapshot" if env.config.name == "dev" else "Retain"
    env.template(DATA).has_resource(
        "AWS::ElastiCache::ReplicationGroup", {"DeletionPolicy": expected, "UpdateReplacePolicy": expected}
    )


PINNED_LOGICAL_IDS = {
    "PostgresPrimaryE59F2C4B": "AWS::RDS::DBInstance",
    "PostgresMasterSecretAC59FC1A": "AWS::SecretsManager::Secret",
    "Cache18F6EE16": "AWS::ElastiCache::ReplicationGroup",
    "CacheAuthSecretB5146BA1": "AWS::SecretsManager::Secret",
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
    stack = data_stack(env)
    name = env.config.name
    parameters = {p["Properties"]["Name"]: p["Properties"] for p in resources(env, "AWS::SSM::Parameter").values()}
    assert sorted(parameters) == sorted(parameter_name(name, member) for member in DataParameter)
    env.template(DATA).resource_count_is("AWS::SSM::Parameter", len(DataParameter))

    proxy_id, _ = the_one(env, "AWS::RDS::DBProxy")
    primary_id, primary_props = primary(env)
    cache_id, _ = the_one(env, "AWS::ElastiCache::ReplicationGroup")
    expected = {
        DataParameter.DATABASE_WRITER_HOST: {"Fn::GetAtt": [proxy_id, "Endpoint"]},
        DataParameter.DATABASE_READER_HOST: READER_NAME,
        DataParameter.DATABASE_PRIMARY_HOST: {"Fn::GetAtt": [primary_id, "Endpoint.Address"]},
        DataParameter.DATABASE_PORT: "5432",  # the proxy's port: writers connect through it
        DataParameter.DATABASE_READER_PORT: primary_props["Port"],  # replicas listen where the primary does
        DataParameter.DATABASE_NAME: DATABASE_NAME,
        DataParameter.DATABASE_SECRET_ARN: stack.resolve(stack.postgres.secret.secret_arn),
        DataParameter.CACHE_PRIMARY_HOST: {"Fn::GetAtt": [cache_id, "PrimaryEndPoint.Address"]},
        DataParameter.CACHE_READER_HOST: {"Fn::GetAtt": [cache_id, "ReaderEndPoint.Address"]},
        DataParameter.CACHE_PORT: {"Fn::GetAtt": [cache_id, "PrimaryEndPoint.Port"]},
        DataParameter.CACHE_AUTH_SECRET_ARN: stack.resolve(stack.cache.auth_secret.secret_arn),
        DataParameter.ENCRYPTION_KEY_ARN: key_arn(env),
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
