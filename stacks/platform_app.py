"""Build the CDK App: one PlatformStage per environment, compliance packs registered."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aws_cdk import App

from config.schema import EnvironmentConfig
from stacks.compliance import FAIL_SYNTH_ON_VALIDATION_ERRORS, register_compliance_packs
from stacks.platform_stage import PlatformStage

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


def feature_flags() -> dict[str, Any]:
    """The context block of cdk.json: feature flags the CLI passes to app.py.

    Tests build their App in-process, without the CLI, and pass these explicitly so that what
    they assert is what `cdk synth` produces.
    """
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    return context


def new_app(**kwargs: Any) -> App:
    """An App as every entry point and test builds it, with cdk.json's feature flags unless `context` is given.

    No construct stack traces (they put temp paths into metadata, breaking determinism), and
    validation findings do not abort `synth()` in any path: `stacks.compliance.synthesize` is the
    gate, the same for `python app.py` and for every CLI command (which would otherwise differ).
    """
    # cdk.json's context (the feature flags) is the default, so `python app.py` builds what `cdk synth`
    # builds; the CLI passes the same values, and its context outranks this.
    kwargs.setdefault("context", feature_flags())
    return App(stack_traces=False, post_cli_context={FAIL_SYNTH_ON_VALIDATION_ERRORS: False}, **kwargs)


def build_app(configs: Iterable[EnvironmentConfig], app: App | None = None) -> App:
    """Add one stage per config to `app` (a new App if none) and register the compliance packs."""
    app = app if app is not None else new_app()
    for config in configs:
        PlatformStage(app, config=config)
    register_compliance_packs(app)
    return app
