"""The alarm topics, in the main region (alerts stack) and in us-east-1 (edge stack)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.alarm_summary import alarm_rows, show
from tests.conftest import SynthesizedEnvironment

#: Stack -> (topic name prefix, region) per environment.
TOPIC_STACKS = {"Alerts": "ticketing-{env}", "Edge": "ticketing-{env}-edge"}


def resources(env: SynthesizedEnvironment, stack: str, kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in env.template_json(stack)["Resources"].items() if r["Type"] == kind}


@pytest.mark.parametrize("stack", sorted(TOPIC_STACKS))
def test_one_encrypted_tls_only_topic_per_severity(env: SynthesizedEnvironment, stack: str) -> None:
    prefix = TOPIC_STACKS[stack].format(env=env.config.name)
    topics = resources(env, stack, "AWS::SNS::Topic")
    assert sorted(t["TopicName"] for t in topics.values()) == [f"{prefix}-critical", f"{prefix}-warning"]
    keys = resources(env, stack, "AWS::KMS::Key")
    for topic_id, topic in topics.items():
        key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
        assert keys[key_id]["EnableKeyRotation"] is True
        key_statements = keys[key_id]["KeyPolicy"]["Statement"]
        (cloudwatch,) = [
            s for s in key_statements if "cloudwatch.amazonaws.com" in s.get("Principal", {}).get("Service", [])
        ]
        assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
        (policy,) = [
            p for p in resources(env, stack, "AWS::SNS::TopicPolicy").values() if p["Topics"] == [{"Ref": topic_id}]
        ]
        statements = policy["PolicyDocument"]["Statement"]
        (deny,) = [s for s in statements if s["Effect"] == "Deny"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        (allow,) = [s for s in statements if s.get("Sid") == "CloudWatchAlarmsOfThisAccount"]
        assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": env.config.account}
        assert show(allow["Condition"]["ArnLike"]["aws:SourceArn"], {}).endswith(f":{env.config.account}:alarm:*")


@pytest.mark.parametrize("stack", sorted(TOPIC_STACKS))
def test_the_critical_topic_pages_pagerduty_with_retries_and_a_dead_letter_queue(
    env: SynthesizedEnvironment, stack: str
) -> None:
    prefix = TOPIC_STACKS[stack].format(env=env.config.name)
    topics = {t["TopicName"]: k for k, t in resources(env, stack, "AWS::SNS::Topic").items()}
    subscriptions = resources(env, stack, "AWS::SNS::Subscription").values()
    (pager,) = [s for s in subscriptions if s["TopicArn"] == {"Ref": topics[f"{prefix}-critical"]}]
    assert pager["Protocol"] == "https"
    assert pager["Endpoint"] == env.config.observability.pagerduty_url
    retries = pager["DeliveryPolicy"]["healthyRetryPolicy"]
    # SNS refuses a policy whose retries take longer than an hour in all.
    waited = (
        retries["numMinDelayRetries"] * retries["minDelayTarget"]
        + retries["numMaxDelayRetries"] * retries["maxDelayTarget"]
        + (retries["numRetries"] - retries["numNoDelayRetries"] - retries["numMinDelayRetries"]
           - retries["numMaxDelayRetries"]) * retries["maxDelayTarget"]
    )  # fmt: skip
    assert retries["numRetries"] >= 10
    assert waited <= 3600
    (queue_id,) = resources(env, stack, "AWS::SQS::Queue")
    assert pager["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    mails = [s for s in subscriptions if s["TopicArn"] == {"Ref": topics[f"{prefix}-warning"]}]
    assert sorted(s["Endpoint"] for s in mails) == sorted(env.config.observability.warning_emails)
    assert all(s["Protocol"] == "email" and "RedrivePolicy" in s for s in mails)


@pytest.mark.parametrize("stack", sorted(TOPIC_STACKS))
def test_failed_deliveries_are_logged_and_raise_an_alarm_on_the_other_topic(
    env: SynthesizedEnvironment, stack: str
) -> None:
    prefix = TOPIC_STACKS[stack].format(env=env.config.name)
    topic_ids = {t["TopicName"]: k for k, t in resources(env, stack, "AWS::SNS::Topic").items()}
    critical = resources(env, stack, "AWS::SNS::Topic")[topic_ids[f"{prefix}-critical"]]
    (logging,) = critical["DeliveryStatusLogging"]
    assert logging["Protocol"] == "http/s"
    groups = [g for g in resources(env, stack, "AWS::Logs::LogGroup").values()]
    failure_groups = [g for g in groups if show(g["LogGroupName"], {}).endswith(f"/{prefix}-critical/Failure")]
    assert len(failure_groups) == 1
    assert failure_groups[0]["RetentionInDays"] == env.config.compute.log_retention_days
    rows = alarm_rows(env.template_json(stack))
    refs = {f"<ref:{k}>": name for name, k in topic_ids.items()}
    expectations = {
        f"{prefix}-critical-delivery-failed": ("NumberOfNotificationsFailed", [f"{prefix}-warning"]),
        f"{prefix}-warning-delivery-failed": ("NumberOfNotificationsFailed", [f"{prefix}-critical"]),
        f"{prefix}-undelivered-notifications": (
            "ApproximateNumberOfMessagesVisible",
            [f"{prefix}-critical", f"{prefix}-warning"],
        ),
    }
    for name, (metric, topics) in expectations.items():
        alarm = rows[name]
        assert alarm.watched is not None
        assert alarm.watched.metric == metric
        assert (alarm.threshold, alarm.comparison, alarm.missing) == (
            1,
            "GreaterThanOrEqualToThreshold",
            "notBreaching",
        )
        assert sorted(refs[a] for a in alarm.actions) == topics
        assert sorted(refs[a] for a in alarm.ok_actions) == topics
