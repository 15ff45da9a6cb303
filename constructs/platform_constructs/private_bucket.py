"""An S3 bucket no one outside the account reads: public access blocked, TLS only, encrypted, versioned.

The settings every bucket of the platform shares: all four public-access blocks, a bucket policy that
denies requests without TLS, default encryption (with a customer-managed key and an S3 bucket key, or
S3-managed where the writer can use nothing else), versioning, and ownership of every object by the
bucket owner (ACLs off), unless a writer delivers with an ACL. The bucket is kept when its stack is
deleted. What differs between buckets is the key, the lifecycle, and whether ACLs stay on; server access
logging is the caller's choice and its acknowledgment the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, aws_kms as kms, aws_s3 as s3
from constructs import Construct


def private_bucket(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey | None = None,
    lifecycle_rules: Sequence[s3.LifecycleRule] = (),
    acl_delivery: bool = False,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> s3.Bucket:
    """A private bucket created as `construct_id` in `scope` (no construct level of its own: the ids stay).

    :param encryption_key: default: S3-managed encryption (SSE-S3), for writers that cannot use a KMS key
        (ALB and CloudFront log delivery) and content that is public anyway; with a key, SSE-KMS with an
        S3 bucket key (fewer KMS requests).
    :param lifecycle_rules: default: none (versions are kept until deleted).
    :param acl_delivery: a writer delivers objects with an ACL (CloudFront standard logs): ACLs stay
        enabled with the bucket owner preferred. Default: ACLs disabled, the bucket owner owns every object.
    :param removal_policy: default: RETAIN.
    """
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS if encryption_key is not None else s3.BucketEncryption.S3_MANAGED,
        encryption_key=encryption_key,
        bucket_key_enabled=True if encryption_key is not None else None,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED
        if acl_delivery
        else s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=removal_policy,
        lifecycle_rules=list(lifecycle_rules) or None,
    )
