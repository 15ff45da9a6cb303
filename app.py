#!/usr/bin/env python3
"""CDK entry point: one Stage per environment, built from config/<env>.toml.

    cdk synth                 every environment (dev, staging, prod)
    cdk synth -c env=prod     one environment
    cdk synth -c config_dir=path/to/dir   read <env>.toml files from another directory

Invalid config stops here (exit 2) with a message naming the file, key, bad value and what is
allowed; nothing is synthesised. An open compliance finding stops it after synthesis (exit 1) with
each finding printed (pack, rule, construct path, message), so `cdk synth`, `cdk diff` and
`cdk deploy` fail too.
"""

import sys
from pathlib import Path

from config import CONFIG_DIR, ENVIRONMENT_NAMES, ConfigError, load_environments
from stacks.compliance import synthesize_or_report
from stacks.platform_app import build_app, new_app


def main() -> int:
    app = new_app()
    selected = app.node.try_get_context("env")
    requested = ENVIRONMENT_NAMES if selected in (None, "", "all") else str(selected).split(",")
    names = list(dict.fromkeys(name.strip() for name in requested))  # "dev,dev" builds dev once
    try:
        configs = load_environments(names, Path(app.node.try_get_context("config_dir") or CONFIG_DIR))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return synthesize_or_report(build_app(configs, app))


if __name__ == "__main__":
    sys.exit(main())
