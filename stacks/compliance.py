"""The compliance gate: cdk-nag v3 packs that run on every synthesis of every environment.

cdk-nag v3 is a policy-validation plugin. Any open finding (warnings too) fails synthesis.
Findings are acknowledged one rule at a time on the narrowest construct, next to the code
that creates it, with `platform_constructs.acknowledgments.acknowledge`.
"""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks

#: Packs that run on every synth; recorded in the audit report even when they have no findings.
COMPLIANCE_PACKS = (AwsSolutionsChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks)


def register_compliance_packs(app: App) -> None:
    """Run every pack in COMPLIANCE_PACKS when `app` synthesises."""
    Validations.of(app).add_plugins(*(pack(app, verbose=True) for pack in COMPLIANCE_PACKS))
