"""What cannot be checked without side effects: printed as manual steps with their link, never passed
silently. Where a read-only call settles it (an account that already has a distribution is verified),
it is a pass instead."""

from __future__ import annotations

from tools.preflight.aws import ClientFactory
from tools.preflight.deployment import Deployment
from tools.preflight.report import Check, manual, passed

CLOUDFRONT_VERIFICATION = (
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html; if a deploy fails "
    "with 'Your account must be verified', open a case: https://console.aws.amazon.com/support/home#/case/create"
)


def check_cloudfront_enabled(deployment: Deployment, clients: ClientFactory) -> list[Check]:
    """A new account may not create distributions until AWS verifies it; only creating one (or a
    support case) tells. An account that already holds a distribution has been verified."""
    if deployment.stack("AWS::CloudFront::Distribution") is None:
        return []
    name, where = "CloudFront enabled for the account", deployment.account
    listed = clients("cloudfront", "us-east-1").list_distributions(MaxItems="1")["DistributionList"]
    if int(listed.get("Quantity", 0)) > 0:
        return [passed(name, where, "the account already has a distribution, so it may create them")]
    return [
        manual(
            name,
            where,
            "the account has no distribution yet; whether AWS lets it create one shows only when one is created",
            f"ask AWS Support to confirm CloudFront is enabled before the first deploy ({CLOUDFRONT_VERIFICATION})",
        )
    ]
