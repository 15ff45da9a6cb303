"""The SNS topics alarms notify: one per severity, encrypted, TLS only, with failed deliveries in sight.

- `critical` pages: it delivers to one HTTPS endpoint (PagerDuty's CloudWatch integration) with
  retries spread over several minutes, a dead-letter queue for what still fails, and a log of
  every failed delivery. `warning` mails a list of addresses.
- Both are encrypted with a customer-managed key that CloudWatch may use (an alarm cannot publish to
  a topic whose key it may not use), refuse anything but TLS, and admit CloudWatch alarms of this
  account only.
- A failed delivery is itself an alarm, on the other topic: when paging is broken, mail says so,
  and the other way round.

Topic names are fixed (`<prefix>-critical`, `<prefix>-warning`) so that alarms in other stacks of
the same account and region address them by ARN (`topic_arn`), without a cross-stack export.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import (
    ArnFormat,
    Duration,
    RemovalPolicy,
    Stack,
    aws_cloudwatch as cloudwatch,
    aws_iam as iam,
    aws_kms as kms,
    aws_logs as logs,
    aws_sns as sns,
    aws_sns_subscriptions as subscriptions,
    aws_sqs as sqs,
)
from constructs import Construct

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.alarm_spec import AlarmSpec
from platform_constructs.customer_managed_key import customer_managed_key
from platform_constructs.encrypted_log_group import encrypted_log_group
from platform_constructs.metrics import QueueMetrics, TopicMetrics
from platform_constructs.physical_names import alarm_topic_name, alarm_topics_key_alias
from platform_constructs.severity import Severity as Severity  # the topics are per severity: named beside them

#: SNS retries to an HTTPS endpoint (at most an hour in all): 3 at once, then backing off to a minute apart.
PAGER_DELIVERY_POLICY = {
    "healthyRetryPolicy": {
        "numRetries": 30,
        "numNoDelayRetries": 3,
        "minDelayTarget": 1,
        "numMinDelayRetries": 2,
        "maxDelayTarget": 60,
        "numMaxDelayRetries": 10,
        "backoffFunction": "exponential",
    },
    "throttlePolicy": {"maxReceivesPerSecond": 10},
}


def topic_name(prefix: str, severity: Severity) -> str:
    return alarm_topic_name(prefix, severity.value)


def topic_arn(scope: Construct, prefix: str, severity: Severity) -> str:
    """The ARN of `prefix`'s topic of `severity` in `scope`'s account and region."""
    return Stack.of(scope).format_arn(
        service="sns", resource=topic_name(prefix, severity), arn_format=ArnFormat.NO_RESOURCE_NAME
    )


def key_alias_name(prefix: str) -> str:
    return alarm_topics_key_alias(prefix)


def publish_statements(scope: Construct, prefix: str, severity: Severity) -> list[iam.PolicyStatement]:
    """What a function in another stack needs to publish to `prefix`'s encrypted topic of `severity`:
    the topic by its ARN, the key by its alias (no reference to the key's ARN, so no export)."""
    return [
        iam.PolicyStatement(actions=["sns:Publish"], resources=[topic_arn(scope, prefix, severity)]),
        iam.PolicyStatement(
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=[Stack.of(scope).format_arn(service="kms", resource="key", resource_name="*")],
            conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": key_alias_name(prefix)}},
        ),
    ]


def failure_log_group_name(scope: Construct, topic: str) -> str:
    """Where SNS logs failed deliveries of `topic` in `scope`'s account and region."""
    stack = Stack.of(scope)
    return delivery_failure_log(stack.region, stack.account, topic)


def delivery_failure_log(region: str, account: str, topic: str) -> str:
    """Where SNS logs failed deliveries of `topic` (its name for HTTP/S delivery status)."""
    return f"sns/{region}/{account}/{topic}/Failure"


class AlarmTopics(Construct):
    """Exposes ``key``, ``topics`` (by Severity), ``dead_letter_queue``, ``failure_log_group`` and ``alarms``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        pager_url: str,
        warning_emails: Sequence[str],
        log_retention: logs.RetentionDays,
        log_removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = customer_managed_key(
            self, "Key", description=f"{prefix}: alarm topics, their dead letters and delivery logs"
        )
        #: Publishers in other stacks are granted the key by this alias (kms:ResourceAliases), not its ARN.
        self.key_alias = key_alias_name(prefix)
        kms.Alias(self, "KeyAlias", alias_name=self.key_alias, target_key=self.key)
        # CloudWatch alarms encrypt what they publish; SNS encrypts what it moves to the dead-letter queue.
        # No condition: neither service is documented to send aws:SourceAccount to KMS, and the topic and
        # queue policies already admit only this account's alarms and these topics.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsAndDeadLetters",
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("sns.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )

        critical_name = topic_name(prefix, Severity.CRITICAL)
        self.failure_log_group = encrypted_log_group(
            self,
            "CriticalDeliveryFailures",
            log_group_name=failure_log_group_name(self, critical_name),
            retention=log_retention,
            encryption_key=self.key,
            removal_policy=log_removal_policy,
        )
        feedback_role = iam.Role(
            self,
            "DeliveryLogRole",
            assumed_by=iam.ServicePrincipal("sns.amazonaws.com"),
            description=f"{prefix}: SNS writes failed deliveries of the critical topic to its log group",
        )
        iam.ManagedPolicy(
            self,
            "DeliveryLogPolicy",
            description=f"{prefix}: write the critical topic's delivery-failure log",
            roles=[feedback_role],
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.failure_log_group.log_group_arn],
                )
            ],
        )

        self.topics: dict[Severity, sns.Topic] = {}
        for severity in Severity:
            topic = sns.Topic(
                self,
                severity.value.capitalize(),
                topic_name=topic_name(prefix, severity),
                display_name=f"{prefix} {severity.value} alarms",
                master_key=self.key,
                enforce_ssl=True,
                logging_configs=[
                    sns.LoggingConfig(protocol=sns.LoggingProtocol.HTTP, failure_feedback_role=feedback_role)
                ]
                if severity is Severity.CRITICAL
                else None,
            )
            topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="CloudWatchAlarmsOfThisAccount",
                    principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                    actions=["sns:Publish"],
                    resources=[topic.topic_arn],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": stack.account},
                        "ArnLike": {"aws:SourceArn": stack.format_arn(
                            service="cloudwatch", resource="alarm", resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )},
                    },
                )
            )  # fmt: skip
            self.topics[severity] = topic

        self.dead_letter_queue = sqs.Queue(
            self,
            "Undelivered",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "Serverless-SQSRedrivePolicy",
            reason="This queue is the dead-letter queue of the topics' subscriptions: what lands here is kept 14 "
            "days and raises the undelivered-notifications alarm; a queue behind it would add nothing",
        )
        self.topics[Severity.CRITICAL].add_subscription(
            subscriptions.UrlSubscription(
                pager_url,
                protocol=sns.SubscriptionProtocol.HTTPS,
                dead_letter_queue=self.dead_letter_queue,
            )
        )
        # The policy is written as SNS documents it: aws-cdk-lib's DeliveryPolicy writes backoffFunction in
        # upper case ("EXPONENTIAL"), where SNS's documentation gives lower case.
        for subscription in self.topics[Severity.CRITICAL].node.find_all():
            if isinstance(subscription, sns.CfnSubscription):
                subscription.delivery_policy = PAGER_DELIVERY_POLICY
        for email in warning_emails:
            self.topics[Severity.WARNING].add_subscription(
                subscriptions.EmailSubscription(email, dead_letter_queue=self.dead_letter_queue)
            )

        self.alarms = self._delivery_alarms(prefix)

    def allow_budgets(self, severity: Severity) -> None:
        """Let AWS Budgets of this account publish to the topic of `severity` (its policy and its key)."""
        stack = Stack.of(self)
        topic = self.topics[severity]
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BudgetsOfThisAccount",
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:budgets::{stack.account}:*"},
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="Budgets",
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )

    def _delivery_alarms(self, prefix: str) -> list[cloudwatch.Alarm]:
        specs = delivery_alarm_specs(
            critical_topic=self.topics[Severity.CRITICAL].topic_name,
            warning_topic=self.topics[Severity.WARNING].topic_name,
            dead_letter_queue=self.dead_letter_queue.queue_name,
            failure_log=failure_log_group_name(self, topic_name(prefix, Severity.CRITICAL)),
        )
        return [spec.create(self, prefix, self.topics) for spec in specs]


def delivery_alarm_specs(
    *, critical_topic: str, warning_topic: str, dead_letter_queue: str, failure_log: str
) -> list[AlarmSpec]:
    """Failed deliveries, each told on the other topic: when paging is broken, mail says so, and the other way
    round; notifications given up on (in the dead-letter queue) go to both."""

    def any_in_five_minutes(
        construct_id: str,
        suffix: str,
        metric: cloudwatch.IMetric,
        severity: Severity,
        runbook: str,
        also_notify: tuple[Severity, ...] = (),
    ) -> AlarmSpec:
        return AlarmSpec(
            construct_id, suffix, metric,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            threshold=1,
            evaluation_periods=1,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            severity=severity,
            also_notify=also_notify,
            runbook=runbook,
        )  # fmt: skip

    return [
        any_in_five_minutes(
            "CriticalDeliveryFailed",
            "critical-delivery-failed",
            TopicMetrics(critical_topic).notifications_failed(),
            Severity.WARNING,
            f"Pages did not reach the pager. Read the log group {failure_log} (status code and reason per "
            "failed delivery), check the PagerDuty integration URL in config (observability.pagerduty_url) and "
            "PagerDuty's status; undelivered pages wait in the dead-letter queue.",
        ),
        any_in_five_minutes(
            "UndeliveredNotifications",
            "undelivered-notifications",
            QueueMetrics(dead_letter_queue).visible_messages(),
            Severity.CRITICAL,
            "Notifications SNS gave up delivering (pages after their retries, mails the mail service refused) "
            "are in the dead-letter queue: read them (each is an alarm someone did not hear of), act on them, "
            "then purge the queue.",
            also_notify=(Severity.WARNING,),
        ),
        any_in_five_minutes(
            "WarningDeliveryFailed",
            "warning-delivery-failed",
            TopicMetrics(warning_topic).notifications_failed(),
            Severity.CRITICAL,
            "Warning mails were not delivered: check the warning topic's subscriptions (an address must confirm "
            "its subscription once; a bouncing address is dropped) and observability.warning_emails.",
        ),
    ]
