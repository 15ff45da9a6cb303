"""An S3 bucket that an AWS service writes access logs into, with a lifecycle for them.

ALB and CloudFront access-log delivery both need S3-managed encryption (neither can use a
customer-managed KMS key), and CloudFront's standard logs are written with an ACL, so its bucket
must allow ACLs. The bucket is a `private_bucket` (public access blocked, TLS only, versioned) whose
old versions expire after 30 days, incomplete uploads are aborted after 7 days, and logs move to
Standard-IA, then Glacier, then are deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, aws_s3 as s3
from constructs import Construct

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.private_bucket import private_bucket


@dataclass(frozen=True)
class LogLifecycle:
    """Days after which access logs move to STANDARD_IA, then GLACIER, then are deleted."""

    infrequent_access_after: Duration
    glacier_after: Duration
    expire_after: Duration

    @classmethod
    def of_days(cls, infrequent_access_after: int, glacier_after: int, expire_after: int) -> LogLifecycle:
        return cls(Duration.days(infrequent_access_after), Duration.days(glacier_after), Duration.days(expire_after))


def log_bucket(
    scope: Construct,
    construct_id: str,
    *,
    writer: str,
    lifecycle: LogLifecycle,
    acl_delivery: bool = False,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> s3.Bucket:
    """A log bucket for `writer` (e.g. "the load balancer"), its compliance exceptions acknowledged on it.

    :param acl_delivery: the writer delivers with an ACL (CloudFront standard logs): ACLs stay enabled.
    """
    bucket = private_bucket(
        scope,
        construct_id,
        acl_delivery=acl_delivery,  # S3-managed encryption: the writers cannot use a KMS key
        removal_policy=removal_policy,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="ArchiveOldLogs",
                transitions=[
                    s3.Transition(
                        storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                        transition_after=lifecycle.infrequent_access_after,
                    ),
                    s3.Transition(storage_class=s3.StorageClass.GLACIER, transition_after=lifecycle.glacier_after),
                ],
                expiration=lifecycle.expire_after,
                noncurrent_version_expiration=Duration.days(30),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )
        ],
    )
    resource = bucket.node.default_child or bucket  # the acknowledgments sit on the bucket resource itself
    acknowledge(
        resource,
        "AwsSolutions-S1",
        "NIST.800.53.R5-S3BucketLoggingEnabled",
        "PCI.DSS.321-S3BucketLoggingEnabled",
        reason=f"This bucket receives {writer}'s access logs; logging its own access would need another bucket "
        "whose logs need another, without end",
    )
    acknowledge(
        resource,
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
        "PCI.DSS.321-S3DefaultEncryptionKMS",
        reason=f"{writer[0].upper()}{writer[1:]}'s log delivery supports S3-managed encryption only (AES-256); a "
        "customer-managed KMS key would stop delivery",
    )
    acknowledge(
        resource,
        "NIST.800.53.R5-S3BucketReplicationEnabled",
        "PCI.DSS.321-S3BucketReplicationEnabled",
        reason="Access logs are operational records with a lifecycle of their own; a second-region copy is not "
        "worth its cost",
    )
    return bucket
