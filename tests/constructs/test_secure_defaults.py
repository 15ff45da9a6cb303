"""The secure-default factories: a customer-managed key, an encrypted log group, a private bucket.

Each is built in a small stack of its own; the assertions name the hardening every copy relies on.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack, assertions, aws_logs as logs, aws_s3 as s3

from platform_constructs.customer_managed_key import customer_managed_key
from platform_constructs.encrypted_log_group import encrypted_log_group
from platform_constructs.private_bucket import private_bucket

ENV = Environment(account="111111111111", region="ap-northeast-2")
LOGS_PRINCIPAL = {"Service": "logs.ap-northeast-2.amazonaws.com"}


def _stack() -> Stack:
    return Stack(App(), "Defaults", env=ENV)


def _key_statements(template: assertions.Template) -> list[dict[str, Any]]:
    (key,) = template.find_resources("AWS::KMS::Key").values()
    return list(key["Properties"]["KeyPolicy"]["Statement"])


def _logs_statements(template: assertions.Template) -> list[dict[str, Any]]:
    return [s for s in _key_statements(template) if s.get("Principal") == LOGS_PRINCIPAL]


# --- customer_managed_key ------------------------------------------------------------------------


def test_key_rotates_and_is_retained_under_the_given_id() -> None:
    stack = _stack()
    key = customer_managed_key(stack, "DataKey", description="what it encrypts")
    assert key.node.path == "Defaults/DataKey"  # no construct level of its own
    template = assertions.Template.from_stack(stack)
    template.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": {"Description": "what it encrypts", "EnableKeyRotation": True},
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    assert stack.get_logical_id(key.node.default_child).startswith("DataKey")  # type: ignore[arg-type]
    assert _logs_statements(template) == []


def test_key_takes_another_removal_policy() -> None:
    stack = _stack()
    customer_managed_key(stack, "Key", description="d", removal_policy=RemovalPolicy.DESTROY)
    assertions.Template.from_stack(stack).has_resource("AWS::KMS::Key", {"DeletionPolicy": "Delete"})


def test_key_for_the_accounts_logs_admits_every_log_group_of_the_account_and_region() -> None:
    stack = _stack()
    customer_managed_key(stack, "Key", description="d", logs_of_this_account=True)
    (statement,) = _logs_statements(assertions.Template.from_stack(stack))
    assert statement["Sid"] == "CloudWatchLogsOfThisAccount"
    assert statement["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":logs:ap-northeast-2:111111111111:log-group:*"]]
            }
        }
    }


# --- encrypted_log_group -------------------------------------------------------------------------


def test_named_log_group_is_encrypted_kept_and_admitted_by_name() -> None:
    stack = _stack()
    key = customer_managed_key(stack, "Key", description="d")
    group = encrypted_log_group(
        stack, "Logs", encryption_key=key, retention=logs.RetentionDays.ONE_MONTH, log_group_name="/app/logs"
    )
    assert group.node.path == "Defaults/Logs"
    template = assertions.Template.from_stack(stack)
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "LogGroupName": "/app/logs",
                "RetentionInDays": 30,
                "KmsKeyId": {"Fn::GetAtt": [assertions.Match.string_like_regexp("^Key"), "Arn"]},
            },
            "DeletionPolicy": "Retain",
        },
    )
    (statement,) = _logs_statements(template)
    assert statement["Sid"].startswith("CloudWatchLogsFor")
    assert statement["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": [
                {
                    "Fn::Join": [
                        "",
                        ["arn:", {"Ref": "AWS::Partition"}, ":logs:ap-northeast-2:111111111111:log-group:/app/logs"],
                    ]
                }
            ]
        }
    }


def test_log_group_with_a_generated_name_is_admitted_account_wide_once() -> None:
    stack = _stack()
    key = customer_managed_key(stack, "Key", description="d", logs_of_this_account=True)
    for construct_id in ("First", "Second"):
        encrypted_log_group(
            stack,
            construct_id,
            encryption_key=key,
            retention=logs.RetentionDays.ONE_WEEK,
            removal_policy=RemovalPolicy.DESTROY,
        )
    template = assertions.Template.from_stack(stack)
    template.resource_count_is("AWS::Logs::LogGroup", 2)
    template.all_resources("AWS::Logs::LogGroup", {"DeletionPolicy": "Delete"})
    assert [s["Sid"] for s in _logs_statements(template)] == ["CloudWatchLogsOfThisAccount"]


def test_log_group_left_to_the_callers_key_policy_adds_no_statement() -> None:
    stack = _stack()
    key = customer_managed_key(stack, "Key", description="d")
    encrypted_log_group(
        stack,
        "Logs",
        encryption_key=key,
        retention=logs.RetentionDays.ONE_WEEK,
        log_group_name="/app/logs",
        admit_in_key_policy=False,
    )
    assert _logs_statements(assertions.Template.from_stack(stack)) == []


# --- private_bucket ------------------------------------------------------------------------------


def _bucket(template: assertions.Template) -> dict[str, Any]:
    (bucket,) = template.find_resources("AWS::S3::Bucket").values()
    return dict(bucket)


def test_bucket_blocks_public_access_takes_tls_only_and_keeps_versions() -> None:
    stack = _stack()
    bucket = private_bucket(stack, "Site")
    assert bucket.node.path == "Defaults/Site"
    template = assertions.Template.from_stack(stack)
    resource = _bucket(template)
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["Properties"] == {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "VersioningConfiguration": {"Status": "Enabled"},
    }
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": assertions.Match.array_with(
                    [
                        assertions.Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def test_bucket_with_a_key_uses_sse_kms_with_a_bucket_key() -> None:
    stack = _stack()
    key = customer_managed_key(stack, "Key", description="d")
    private_bucket(stack, "Reports", encryption_key=key)
    (rule,) = _bucket(assertions.Template.from_stack(stack))["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert rule["BucketKeyEnabled"] is True
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
        "Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]  # type: ignore[arg-type]
    }


def test_bucket_for_acl_delivery_keeps_acls_with_the_owner_preferred() -> None:
    stack = _stack()
    private_bucket(stack, "Logs", acl_delivery=True)
    ownership = _bucket(assertions.Template.from_stack(stack))["Properties"]["OwnershipControls"]
    assert ownership == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}


def test_bucket_takes_lifecycle_rules_and_a_removal_policy() -> None:
    stack = _stack()
    private_bucket(
        stack,
        "Builds",
        lifecycle_rules=[s3.LifecycleRule(id="Old", noncurrent_version_expiration=Duration.days(30))],
        removal_policy=RemovalPolicy.DESTROY,
    )
    resource = _bucket(assertions.Template.from_stack(stack))
    assert resource["DeletionPolicy"] == "Delete"
    assert resource["Properties"]["LifecycleConfiguration"] == {
        "Rules": [{"Id": "Old", "NoncurrentVersionExpiration": {"NoncurrentDays": 30}, "Status": "Enabled"}]
    }
