"""A Valkey/Redis OSS replication group (cluster mode disabled) with failover, TLS, AUTH or IAM users, and KMS.

The CDK has no L2 for ElastiCache replication groups; this construct is the one the platform uses. Its parts
live in their own modules, each with the props it takes: ``engine``, ``nodes`` (node type, replicas, subnet
and security group), ``parameters``, ``auth`` (AUTH token or IAM users, with their accepted findings),
``log_groups`` and ``maintenance``. Every part creates its resources directly in this construct, with the ids
it has always had, so the construct paths (and with them the logical IDs) do not depend on how the code is
split.
"""

from __future__ import annotations

from aws_cdk import (
    ArnFormat,
    Duration,
    RemovalPolicy,
    Stack,
    aws_cloudwatch as cloudwatch,
    aws_ec2 as ec2,
    aws_elasticache as elasticache,
    aws_iam as iam,
    aws_kms as kms,
)
from constructs import Construct

from platform_constructs.metrics import CacheNodeMetrics
from platform_constructs.redis.auth import AuthProps, acknowledge_role_based_access, authenticate
from platform_constructs.redis.engine import EngineProps
from platform_constructs.redis.log_groups import LogProps, create_log_groups, log_delivery
from platform_constructs.redis.maintenance import MaintenanceProps
from platform_constructs.redis.nodes import NodeProps, create_security_group, create_subnet_group, node_subnets
from platform_constructs.redis.parameters import create_parameter_group
from platform_constructs.redis.removal_policies import data_policy, supporting_policy


class RedisReplicationGroup(Construct):
    """ElastiCache for Valkey (or Redis OSS) replication group: one shard, a primary and 1-5 replicas.

    - Cluster mode disabled (``NumNodeGroups`` 1); automatic failover to a replica is always on,
      Multi-AZ placement is on by default.
    - TLS is required on every connection (``TransitEncryptionMode: required``), clients authenticate
      with an AUTH token kept in Secrets Manager and passed to CloudFormation as a dynamic reference,
      never in the template, or as IAM users (see ``AuthProps``). Data, snapshots, the secrets and both log
      groups use ``encryption_key``.
    - Slow log and engine log are delivered as JSON to two KMS-encrypted CloudWatch log groups.
    - A custom parameter group pins ``maxmemory-policy`` and ``cluster-enabled: no``.
    - A dedicated security group with no rules: grant access with
      ``connections.allow_default_port_from(peer)``. It has no egress (nodes never initiate traffic).
    - Daily snapshots kept ``snapshot_retention_days``; minor engine versions upgrade automatically in
      the maintenance window.

    Compliance: the AwsSolutions default-port rule (AEC5) fails for the ``redis`` engine on port 6379, and
    AEC4 fails without Multi-AZ; the caller decides (pick another port, or acknowledge with a reason). A
    ``snapshot_retention_days`` below 15 fails NIST 800-53 R5.

    Exposes ``replication_group`` (the L1), ``security_group``, ``connections``, ``auth_secret`` (and
    ``secret_created``: whether the construct generated it), ``user_group``, ``users``, ``parameter_group``,
    ``subnet_group``, ``slow_log_group``, ``engine_log_group``, the endpoint attributes,
    ``member_cluster_ids``, metric helpers and ``grant_read_auth_secret``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        encryption_key: kms.IKey,
        nodes: NodeProps,
        logs: LogProps,
        subnets: ec2.SubnetSelection | None = None,
        engine: EngineProps | None = None,
        auth: AuthProps | None = None,
        maintenance: MaintenanceProps | None = None,
        description: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param vpc: the VPC the nodes live in.
        :param encryption_key: encrypts data at rest, snapshots, the generated secrets and both log groups.
            Its key policy is extended to let CloudWatch Logs of this region use it for the two groups.
        :param nodes: node type, replicas, Multi-AZ and port (see ``NodeProps``).
        :param logs: the two log groups (see ``LogProps``).
        :param subnets: where the nodes go (default: the VPC's PRIVATE_ISOLATED subnets).
        :param engine: engine, version and eviction policy (default: ``EngineProps()``, Valkey 8.0).
        :param auth: AUTH token or IAM users (default: ``AuthProps()``, a generated AUTH token).
        :param maintenance: snapshots and windows (default: ``MaintenanceProps()``).
        :param description: replication group description (default: engine and construct path).
        :param removal_policy: RETAIN (default), SNAPSHOT (final snapshot, then delete) or DESTROY for the
            replication group. The secrets and log groups get the same policy, except that SNAPSHOT retains
            them. While the group is retained, so are its subnet group, parameter group, security group,
            users and user group, which CloudFormation could not delete while the group uses them.
        """
        super().__init__(scope, construct_id)
        engine = engine or EngineProps()
        auth = auth or AuthProps()
        maintenance = maintenance or MaintenanceProps()
        selected = node_subnets(vpc, subnets, nodes)

        self.engine: str = engine.engine
        self.engine_version: str = engine.resolved_version
        self.port: int = nodes.port
        self.replicas_per_node_group: int = nodes.replicas_per_node_group
        self.encryption_key = encryption_key
        kept_with_group = supporting_policy(removal_policy)

        # --- Subnet group, parameter group, security group ----------------------------------------
        self.subnet_group = create_subnet_group(self, selected, engine.label, kept_with_group)
        self.parameter_group = create_parameter_group(self, engine, kept_with_group)
        self.security_group = create_security_group(self, vpc, kept_with_group)
        self.connections = ec2.Connections(security_groups=[self.security_group], default_port=ec2.Port.tcp(nodes.port))

        # --- Authentication: IAM users in a user group, or one AUTH token -------------------------
        authentication = authenticate(
            self,
            auth,
            engine=engine.engine,
            label=engine.label,
            encryption_key=encryption_key,
            secret_policy=data_policy(removal_policy),
            user_policy=kept_with_group,
        )
        self.auth_secret = authentication.auth_secret
        self.secret_created: bool = authentication.secret_created
        self.user_group = authentication.user_group
        self.users = authentication.users
        self.default_user_secret = authentication.default_user_secret

        # --- Log groups and the replication group that delivers to them ---------------------------
        log_groups = create_log_groups(self, logs, encryption_key, data_policy(removal_policy))
        self.slow_log_group = log_groups.slow_log
        self.engine_log_group = log_groups.engine_log
        auth_token = authentication.auth_token(auth.secret_json_field)
        self.replication_group = elasticache.CfnReplicationGroup(
            self,
            "Resource",
            replication_group_description=description or f"{engine.label} replication group {self.node.path}",
            engine=self.engine,
            engine_version=self.engine_version,
            cache_node_type=nodes.node_type,
            # NumCacheClusters, not NumNodeGroups/ReplicasPerNodeGroup: for a group with one shard
            # (cluster mode disabled) CloudFormation changes it in place, adding or removing replicas;
            # ReplicasPerNodeGroup is a replacement.
            num_cache_clusters=nodes.replicas_per_node_group + 1,
            automatic_failover_enabled=True,
            multi_az_enabled=nodes.multi_az,
            cache_subnet_group_name=self.subnet_group.ref,
            cache_parameter_group_name=self.parameter_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            port=nodes.port,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            # A {{resolve:secretsmanager:...}} reference; none with IAM users, who come in through the group.
            auth_token=None if auth_token is None else auth_token.unsafe_unwrap(),
            user_group_ids=None if self.user_group is None else [self.user_group.ref],
            at_rest_encryption_enabled=True,
            kms_key_id=encryption_key.key_arn,
            snapshot_retention_limit=maintenance.snapshot_retention_days,
            snapshot_window=maintenance.snapshot_window,
            preferred_maintenance_window=maintenance.preferred_maintenance_window,
            auto_minor_version_upgrade=True,
            log_delivery_configurations=[
                log_delivery("slow-log", self.slow_log_group),
                log_delivery("engine-log", self.engine_log_group),
            ],
        )
        self.replication_group.apply_removal_policy(removal_policy)
        if self.user_group is not None:
            acknowledge_role_based_access(self.replication_group)

        self.replication_group_id: str = self.replication_group.ref
        self.primary_endpoint_address: str = self.replication_group.attr_primary_end_point_address
        self.primary_endpoint_port: str = self.replication_group.attr_primary_end_point_port
        self.reader_endpoint_address: str = self.replication_group.attr_reader_end_point_address
        self.reader_endpoint_port: str = self.replication_group.attr_reader_end_point_port
        #: CacheClusterId of every node: ``<group id>-001`` (the first primary) to ``-00<n>``.
        self.member_cluster_ids: list[str] = [
            f"{self.replication_group_id}-{member:03d}" for member in range(1, nodes.replicas_per_node_group + 2)
        ]

    # --- Access -----------------------------------------------------------------------------------
    def connect_resources(self, user_id: str) -> list[str]:
        """What ``elasticache:Connect`` must name for IAM user `user_id`: the group and the user."""
        if user_id not in self.users or user_id == "default":
            raise ValueError(f"connect_resources: {user_id!r} is not one of the IAM users {sorted(self.users)}")
        stack = Stack.of(self)
        return [
            stack.format_arn(
                service="elasticache", resource=kind, resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
            )
            for kind, name in (("replicationgroup", self.replication_group.ref), ("user", user_id))
        ]

    def grant_read_auth_secret(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` read the AUTH token (and decrypt it with the key)."""
        if self.auth_secret is None:
            raise ValueError("grant_read_auth_secret: the group uses IAM users, not an AUTH token")
        return self.auth_secret.grant_read(grantee)

    # --- Metrics ----------------------------------------------------------------------------------
    def metric(
        self,
        metric_name: str,
        *,
        member: int = 1,
        statistic: str = "Average",
        period: Duration | None = None,
        unit: cloudwatch.Unit | None = None,
    ) -> cloudwatch.Metric:
        """Metric `metric_name` of one node, namespace ``AWS/ElastiCache``.

        ElastiCache publishes per node, with the dimension ``CacheClusterId`` (and optionally
        ``CacheNodeId``); there is no ``ReplicationGroupId`` dimension for node metrics. In a group with
        cluster mode disabled the nodes are the member clusters ``<group id>-001`` ... ``-00<n>``.
        `member` picks one of them (1-based; default 1, the node created as primary). After a failover
        another member is primary: alarm on every member (see ``member_cluster_ids``) for fleet views.

        :param period: aggregation period (default 1 minute, the rate ElastiCache publishes at).
        """
        if not 1 <= member <= len(self.member_cluster_ids):
            raise ValueError(f"member: must be between 1 and {len(self.member_cluster_ids)}, got {member}")
        return cloudwatch.Metric(
            namespace=CacheNodeMetrics.NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"CacheClusterId": self.member_cluster_ids[member - 1]},
            statistic=statistic,
            period=period or Duration.minutes(1),
            unit=unit,
        )

    def metric_cpu_utilization(self, *, member: int = 1) -> cloudwatch.Metric:
        """Host CPU of one node, percent (Average). On nodes with 4+ vCPUs prefer engine CPU."""
        return self.metric("CPUUtilization", member=member, unit=cloudwatch.Unit.PERCENT)

    def metric_engine_cpu_utilization(self, *, member: int = 1) -> cloudwatch.Metric:
        """CPU of the engine's main thread on one node, percent (Average)."""
        return self.metric("EngineCPUUtilization", member=member, unit=cloudwatch.Unit.PERCENT)

    def metric_database_memory_usage_percentage(self, *, member: int = 1) -> cloudwatch.Metric:
        """Share of ``maxmemory`` in use on one node, percent (Average)."""
        return self.metric("DatabaseMemoryUsagePercentage", member=member, unit=cloudwatch.Unit.PERCENT)

    def metric_curr_connections(self, *, member: int = 1) -> cloudwatch.Metric:
        """Client connections open on one node (Maximum), excluding replica links."""
        return self.metric("CurrConnections", member=member, statistic="Maximum", unit=cloudwatch.Unit.COUNT)

    def metric_evictions(self, *, member: int = 1) -> cloudwatch.Metric:
        """Keys evicted by ``maxmemory-policy`` on one node (Sum)."""
        return self.metric("Evictions", member=member, statistic="Sum", unit=cloudwatch.Unit.COUNT)

    def metric_replication_lag(self, *, member: int = 2) -> cloudwatch.Metric:
        """Seconds a replica is behind the primary (Maximum); published by replicas only (default member 2)."""
        return self.metric("ReplicationLag", member=member, statistic="Maximum", unit=cloudwatch.Unit.SECONDS)
