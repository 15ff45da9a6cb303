"""The S3 bucket a single-page app's build is uploaded to and CloudFront serves from.

A `private_bucket` (public access blocked, objects owned by the bucket owner, TLS only, versioned,
retained when its stack is deleted): CloudFront reads it through origin access control, nothing
else reads it. Versions let a bad upload be rolled back; old builds expire after
`old_builds_kept_for`.

Encrypted with SSE-S3, not a KMS key: the files are public through CloudFront anyway, and a KMS
key would cost a request to KMS per uncached read (and need a key policy open to every
distribution that reads it). The compliance findings this design leaves open are acknowledged
here, on the bucket, with their reasons.

`spa_bucket` creates the bucket in the scope it is given under the id it is given, as creating an
`s3.Bucket` there directly would: no construct level of its own, so the bucket's logical ID and
path are those of a bucket made in place.
"""

from __future__ import annotations

from aws_cdk import Duration, aws_s3 as s3
from constructs import Construct

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.private_bucket import private_bucket

#: How long a replaced or deleted file of the build stays as a noncurrent version, unless the caller says.
OLD_BUILDS_KEPT_FOR = Duration.days(30)


def spa_bucket(
    scope: Construct, construct_id: str, *, old_builds_kept_for: Duration = OLD_BUILDS_KEPT_FOR
) -> s3.Bucket:
    """A private, versioned bucket for a single-page app's build, its compliance exceptions acknowledged on it.

    :param old_builds_kept_for: how long a replaced or deleted file stays as a noncurrent version.
        Default: `OLD_BUILDS_KEPT_FOR` (30 days).
    """
    bucket = private_bucket(
        scope,
        construct_id,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="OldBuilds",
                noncurrent_version_expiration=old_builds_kept_for,
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )
        ],
    )
    resource = bucket.node.default_child
    assert resource is not None, bucket.node.path  # an s3.Bucket always has its CfnBucket
    acknowledge(
        resource,
        "NIST.800.53.R5-S3BucketReplicationEnabled",
        "PCI.DSS.321-S3BucketReplicationEnabled",
        reason="The SPA bucket holds build output that CI uploads again from the repository; a second-region "
        "copy would restore nothing the build cannot",
    )
    acknowledge(
        resource,
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
        "PCI.DSS.321-S3DefaultEncryptionKMS",
        reason="The SPA bucket holds the public build of the web app, served to everyone through CloudFront; "
        "S3-managed encryption at rest, no KMS request per uncached read",
    )
    acknowledge(
        resource,
        "AwsSolutions-S1",
        "NIST.800.53.R5-S3BucketLoggingEnabled",
        "PCI.DSS.321-S3BucketLoggingEnabled",
        reason="Every read of the SPA bucket comes through CloudFront, whose access logs record it; its writes "
        "are CI's uploads, recorded by CloudTrail",
    )
    return bucket
