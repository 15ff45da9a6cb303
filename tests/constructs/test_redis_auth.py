"""Authentication (``auth``): the AUTH token as a dynamic reference, the generated secret and its accepted
finding, and IAM users in a user group."""

from __future__ import annotations

import json

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Match, Template

from platform_constructs.redis import AuthProps
from tests.constructs.cache_fixture import (
    CacheApp,
    auth_secret_of,
    throwaway_group,
)


def test_construct_acknowledges_only_rotation_and_only_on_its_generated_secret(cache: CacheApp) -> None:
    metadata = json.loads((cache.assembly_dir / "RedisTest.metadata.json").read_text())
    acknowledged = {
        (path, rule)
        for path, entries in metadata.items()
        if path.startswith(("/RedisTest/Cache", "/RedisTest/LegacyCache"))
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule in entry["data"]
    }
    assert acknowledged == {
        ("/RedisTest/Cache/AuthSecret", "Annotation::AwsSolutions-SMG4"),
        ("/RedisTest/Cache/AuthSecret", "Annotation::NIST.800.53.R5-SecretsManagerRotationEnabled"),
        ("/RedisTest/Cache/AuthSecret", "Annotation::PCI.DSS.321-SecretsManagerRotationEnabled"),
    }


def test_auth_token_is_a_secrets_manager_dynamic_reference(cache: CacheApp) -> None:
    secret_id = cache.id_of(auth_secret_of(cache.valkey))
    props = cache.group(cache.valkey)["Properties"]
    assert props["AuthToken"] == {
        "Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]]
    }


def test_auth_token_from_json_field_of_a_given_secret(cache: CacheApp) -> None:
    props = cache.group(cache.redis)["Properties"]
    assert props["AuthToken"] == {
        "Fn::Join": [
            "",
            ["{{resolve:secretsmanager:", {"Ref": cache.id_of(cache.external_secret)}, ":SecretString:token::}}"],
        ]
    }
    assert auth_secret_of(cache.redis) is cache.external_secret
    assert cache.redis.secret_created is False


def test_generated_secret_is_a_64_char_token_encrypted_with_the_key(cache: CacheApp) -> None:
    cache.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "GenerateSecretString": {
                "PasswordLength": 64,
                "ExcludePunctuation": True,  # no @, ", / or any other character AUTH forbids
                "IncludeSpace": False,
                "SecretStringTemplate": Match.absent(),
            },
            "KmsKeyId": {"Fn::GetAtt": [cache.id_of(cache.key), "Arn"]},
        },
    )


def test_no_plaintext_secret_in_template(cache: CacheApp) -> None:
    for group in (cache.valkey, cache.redis):
        token = cache.group(group)["Properties"]["AuthToken"]
        assert isinstance(token, dict), "AuthToken must be a dynamic reference, not a literal"


def test_grant_readauth_secret_of(cache: CacheApp) -> None:
    reader_id = cache.id_of(cache.stack.node.find_child("Reader"))
    cache.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                        "Effect": "Allow",
                        "Resource": {"Ref": cache.id_of(auth_secret_of(cache.valkey))},
                    }
                ],
                "Version": "2012-10-17",
            },
            "Roles": [{"Ref": reader_id}],
        },
    )
    # Decrypting goes through the key policy, and only via Secrets Manager.
    statements = cache.template.find_resources("AWS::KMS::Key")[cache.id_of(cache.key)]["Properties"]["KeyPolicy"][
        "Statement"
    ]
    assert {
        "Action": "kms:Decrypt",
        "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.ap-northeast-2.amazonaws.com"}},
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::GetAtt": [reader_id, "Arn"]}},
        "Resource": "*",
    } in statements


def test_iam_users_replace_the_auth_token_with_a_user_group() -> None:
    group = throwaway_group(
        auth=AuthProps(iam_users={"svc-events": ["event:", "events:list:"], "svc-auth": ["login:"]})
    )
    template = Template.from_stack(Stack.of(group)).to_json()["Resources"]
    stack = Stack.of(group)
    props = template[stack.get_logical_id(group.replication_group)]["Properties"]
    assert "AuthToken" not in props
    assert group.auth_secret is None
    assert group.user_group is not None
    assert props["UserGroupIds"] == [{"Ref": stack.get_logical_id(group.user_group)}]
    users = {
        r["Properties"]["UserName"]: r["Properties"] for r in template.values() if r["Type"] == "AWS::ElastiCache::User"
    }
    assert sorted(users) == ["default", "svc-auth", "svc-events"]
    assert users["default"]["AccessString"] == "off -@all"
    assert users["default"]["AuthenticationMode"]["Type"] == "password"
    assert users["svc-events"]["UserId"] == "svc-events"
    assert users["svc-events"]["AuthenticationMode"] == {"Type": "iam"}
    assert users["svc-events"]["AccessString"].startswith("on ~event:* ~events:list:* -@all +@read +@write")
    assert "~login:*" not in users["svc-events"]["AccessString"]
    resources = json.dumps(stack.resolve(group.connect_resources("svc-auth")))
    assert ":user:svc-auth" in resources
    assert ":replicationgroup:" in resources


def test_connect_resources_refuses_an_unknown_user() -> None:
    group = throwaway_group(auth=AuthProps(iam_users={"svc-auth": ["login:"]}))
    with pytest.raises(ValueError, match=r"'default' is not one of the IAM users"):
        group.connect_resources("default")


def test_a_users_logical_id_does_not_depend_on_the_others() -> None:
    """Adding a user must not move an existing one to another logical id (its user id is create-only)."""

    def logical_ids(users: dict[str, list[str]]) -> dict[str, str]:
        group = throwaway_group(auth=AuthProps(iam_users=users))
        stack = Stack.of(group)
        return {uid: stack.get_logical_id(user) for uid, user in group.users.items() if uid != "default"}

    before = logical_ids({"svc-b": ["b:"], "svc-c": ["c:"]})
    after = logical_ids({"svc-a": ["a:"], "svc-b": ["b:"], "svc-c": ["c:"]})
    assert after["svc-b"] == before["svc-b"]
    assert after["svc-c"] == before["svc-c"]
