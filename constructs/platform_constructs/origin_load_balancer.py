"""An Application Load Balancer that only a CDN reaches: a prefix list, an HTTPS listener, a secret header.

- The security group admits one managed prefix list (CloudFront's origin-facing list) on 443 and
  nothing else; aws-cdk-lib's listener default (`open=True`, 0.0.0.0/0) is turned off. The list
  weighs 55 rules of a group's default 60, so the group holds this one port only.
- The HTTPS listener answers 403 to every request that does not carry the origin header with one
  of the accepted values; each route matches the header AND its path patterns. The values are
  usually dynamic references to a secret, so no template holds them; two values let the value
  change without an outage, by a rotation (current and previous) or a move to another secret (new
  and former): the CDN sends the old value until it is deployed again.
- Invalid header fields are dropped, HTTP desync mitigation is at its strictest, and access logs
  go to an S3 bucket of their own (SSE-S3: the only encryption ALB log delivery supports) with a
  lifecycle (infrequent access, Glacier, expiry).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from aws_cdk import (
    Duration,
    RemovalPolicy,
    aws_ec2 as ec2,
    aws_elasticloadbalancingv2 as elbv2,
)
from constructs import Construct

from platform_constructs.accepted_values import MAX_HEADER_VALUES, MAX_RULE_CONDITION_VALUES
from platform_constructs.log_bucket import LogLifecycle, log_bucket

HTTPS_PORT = 443
#: The header the CDN adds to every origin request; its value is the shared secret.
ORIGIN_HEADER_NAME = "X-Origin-Verify"
#: Listener rule priorities ALB accepts.
MAX_PRIORITY = 50_000
#: TLS 1.2 and 1.3 with forward secrecy and AEAD ciphers only (ELBSecurityPolicy-TLS13-1-2-Res-2021-06).
SSL_POLICY = elbv2.SslPolicy.TLS13_RES


class OriginLoadBalancer(Construct):
    """Exposes ``load_balancer``, ``listener``, ``security_group`` and ``access_log_bucket``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        certificate_arn: str,
        origin_prefix_list_id: str,
        origin_header_values: Sequence[str],
        access_log_lifecycle: LogLifecycle,
        idle_timeout: Duration | None = None,
        deletion_protection: bool = True,
        log_bucket_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param origin_header_values: 1 or 2 accepted values of ``ORIGIN_HEADER_NAME`` (tokens are fine).
        """
        super().__init__(scope, construct_id)
        if not 1 <= len(origin_header_values) <= MAX_HEADER_VALUES:
            raise ValueError(f"origin_header_values: give 1 or 2 values, got {len(origin_header_values)}")
        self._header_values = list(origin_header_values)
        self._priorities: dict[int, str] = {}

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="HTTPS from the CloudFront origin-facing addresses only",
            allow_all_outbound=False,
        )
        self.security_group.add_ingress_rule(
            ec2.Peer.prefix_list(origin_prefix_list_id), ec2.Port.tcp(HTTPS_PORT), "CloudFront origin-facing"
        )

        self.access_log_bucket = log_bucket(
            self,
            "AccessLogs",
            writer="the load balancer",
            lifecycle=access_log_lifecycle,
            removal_policy=log_bucket_removal_policy,
        )

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_group=self.security_group,
            drop_invalid_header_fields=True,
            desync_mitigation_mode=elbv2.DesyncMitigationMode.STRICTEST,
            http2_enabled=True,
            idle_timeout=idle_timeout or Duration.seconds(60),
            deletion_protection=deletion_protection,
        )
        self.load_balancer.log_access_logs(self.access_log_bucket)

        self.listener = self.load_balancer.add_listener(
            "Https",
            port=HTTPS_PORT,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
            ssl_policy=SSL_POLICY,
            open=False,
            default_action=elbv2.ListenerAction.fixed_response(
                403, content_type="text/plain", message_body="Forbidden"
            ),
        )

    def route(
        self, name: str, *, target_group: elbv2.IApplicationTargetGroup, path_patterns: Sequence[str]
    ) -> list[elbv2.ApplicationListenerRule]:
        """Forward requests with the origin header and one of `path_patterns` to `target_group`.

        A rule holds at most five condition values, the header's included, so the patterns are
        spread over rules of three (room for two header values). Priorities come from a hash of `name` and the rule's
        position, so adding or removing a route never moves another route's rules (which would
        make CloudFormation swap priorities in use); the patterns of different routes must not
        overlap, so their order does not matter.
        """
        if not path_patterns:
            raise ValueError(f"route {name}: give at least one path pattern")
        # Sized for two header values whether or not a rotation is on: switching it must not split or
        # merge rules (CloudFormation could update one before it creates the other: 403s meanwhile).
        per_rule = MAX_RULE_CONDITION_VALUES - MAX_HEADER_VALUES
        rules = []
        for index in range(0, len(path_patterns), per_rule):
            chunk = list(path_patterns[index : index + per_rule])
            rule_id = f"{name}Route{index // per_rule}"
            rules.append(
                elbv2.ApplicationListenerRule(
                    self,
                    rule_id,
                    listener=self.listener,
                    priority=self._priority(rule_id),
                    conditions=[
                        elbv2.ListenerCondition.http_header(ORIGIN_HEADER_NAME, self._header_values),
                        elbv2.ListenerCondition.path_patterns(chunk),
                    ],
                    action=elbv2.ListenerAction.forward([target_group]),
                )
            )
        return rules

    def _priority(self, rule_id: str) -> int:
        priority = zlib.crc32(rule_id.encode()) % (MAX_PRIORITY - 1) + 1
        while priority in self._priorities:  # rare: the next free one, deterministic for the same routes
            priority = priority % (MAX_PRIORITY - 1) + 1
        self._priorities[priority] = rule_id
        return priority
