"""The compliance gate: cdk-nag v3 packs that run on every synthesis of every environment.

cdk-nag v3 is a policy-validation plugin. Findings are acknowledged one rule at a time on the
narrowest construct, next to the code that creates it, with
`platform_constructs.acknowledgments.acknowledge`.

The gate is enforced here, by the app, not by aws-cdk-lib: the CDK CLI passes
`@aws-cdk/core:failSynthOnValidationErrors=false` to every app it runs, and CLI context outranks
the App's own, so left to aws-cdk-lib an open finding would fail `python app.py` but let
`cdk synth` and `cdk deploy` through. `new_app` therefore lets synthesis finish in every path
(it writes the validation report), and `synthesize` reads that report and refuses the assembly
when it lists any finding, warnings included. `app.py` turns that into exit status 1 with each
finding printed, which every CLI command that runs the app (synth, diff, deploy) passes on.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import App, Validations, cx_api
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks

from stacks.validation_report import ComplianceError, read_findings

#: Packs that run on every synth; recorded in the audit report even when they have no findings.
COMPLIANCE_PACKS = (AwsSolutionsChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks)

#: The context key the CDK CLI sets to false; `new_app` pins it to false in every path, because
#: `synthesize` is the gate (see the module docstring).
FAIL_SYNTH_ON_VALIDATION_ERRORS = "@aws-cdk/core:failSynthOnValidationErrors"


def register_compliance_packs(app: App) -> None:
    """Run every pack in COMPLIANCE_PACKS when `app` synthesises."""
    Validations.of(app).add_plugins(*(pack(app, verbose=True) for pack in COMPLIANCE_PACKS))


#: What a refused assembly's manifests are renamed to: no CLI command can deploy or diff it then.
REFUSED_MANIFEST = "manifest.json.refused"


def synthesize(app: App) -> cx_api.CloudAssembly:
    """`app.synth()`, then refuse the assembly if the validation report lists any finding.

    A refused assembly stays on disk for reading (templates, `validation-report.json`), but its
    manifests are renamed, so `cdk deploy --app cdk.out` or `make diff` cannot pick it up later.
    """
    assembly = app.synth()
    outdir = Path(assembly.directory)
    findings = read_findings(outdir)
    if findings:
        for manifest in sorted(outdir.rglob("manifest.json")):
            manifest.replace(manifest.with_name(REFUSED_MANIFEST))
        raise ComplianceError(findings, outdir)
    return assembly


def synthesize_or_report(app: App) -> int:
    """Process exit status for an app's entry point: 0, or 1 with every open finding on stderr."""
    try:
        synthesize(app)
    except ComplianceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
