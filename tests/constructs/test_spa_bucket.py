"""spa_bucket: a private bucket with the build's lifecycle, its acknowledgments on the bucket resource."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Duration, Stack, assertions

from platform_constructs.spa_bucket import spa_bucket


def _template(**kwargs: Any) -> dict[str, Any]:
    """The bucket's resource in the template of a stack holding just it."""
    stack = Stack(App(), "Edge")
    bucket = spa_bucket(stack, "SiteBucket", **kwargs)
    assert bucket.node.path == "Edge/SiteBucket"  # no construct level of its own
    (found,) = assertions.Template.from_stack(stack).find_resources("AWS::S3::Bucket").values()
    return dict(found)


def test_the_bucket_is_private_versioned_retained_and_expires_old_builds() -> None:
    bucket = _template()
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True
    }  # fmt: skip
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (encryption,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # SSE-S3: no KMS per read
    assert properties["LifecycleConfiguration"]["Rules"] == [
        {
            "Id": "OldBuilds",
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
    ]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_old_builds_are_kept_as_long_as_the_caller_says() -> None:
    bucket = _template(old_builds_kept_for=Duration.days(90))
    (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}


def test_the_open_findings_are_acknowledged_on_the_bucket_resource_with_reasons() -> None:
    stack = Stack(App(), "Edge")
    resource = spa_bucket(stack, "SiteBucket").node.default_child
    assert resource is not None
    rules = {
        rule.removeprefix("Annotation::"): reason
        for entry in resource.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for rule, reason in entry.data.items()
    }
    assert set(rules) == {
        "AwsSolutions-S1", "NIST.800.53.R5-S3BucketLoggingEnabled", "PCI.DSS.321-S3BucketLoggingEnabled",
        "NIST.800.53.R5-S3DefaultEncryptionKMS", "PCI.DSS.321-S3DefaultEncryptionKMS",
        "NIST.800.53.R5-S3BucketReplicationEnabled", "PCI.DSS.321-S3BucketReplicationEnabled",
    }  # fmt: skip
    assert "CloudFront" in rules["AwsSolutions-S1"]
