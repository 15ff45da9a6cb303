"""Where a synthesis spends its time: `python -m tools.synth_profile [--env prod] [--without-packs]`.

Runs what `python app.py` runs, in this process, and prints one line per phase:

- Python imports (aws-cdk-lib's Python modules; starting Node.js and loading aws-cdk-lib into it
  happen inside the first `import aws_cdk`, reported separately), the config;
- construction of each environment's stacks, with the jsii round trips between Python and Node.js;
- synthesis, from aws-cdk-lib's own performance counters (`CDK_PERF_COUNTERS_FILE`): the validation
  plugins (the four compliance packs, and the built-in CloudFormation validation whose engine
  starts once per process), and the rest (aspects, resolving tokens, writing templates and assets).

`--without-packs` leaves the compliance packs out (never a way to synthesise: a measurement of what
they cost). Numbers from one run; `make bench` gives medians.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: Context that makes aws-cdk-lib write its performance counters for any app (default: only slow ones).
SLOW_SYNTH_THRESHOLD = "@aws-cdk/core.slowSynthThreshold"


class RoundTrips:
    """Counts the requests Python sends to the jsii kernel in Node.js, by the kernel call that sends them.

    Each call of the `jsii.kernel` object (the runtime's public kernel, the one every generated class calls
    through `jsii.get`, `jsii.invoke`, ...) is one request to Node.js; `sync_complete` answers a callback
    Node.js made into Python (an aspect's `visit`, an overridden method).
    """

    #: The kernel's calls that send a request, and the module-level aliases generated code calls them by.
    CALLS = ("load", "create", "delete", "get", "set", "sget", "sset", "invoke", "sinvoke", "ainvoke", "sainvoke")
    CALLBACK_ANSWER = "sync_complete"

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()

    def install(self) -> None:
        import jsii

        requests = self.requests

        def counted(name: str, call: Any) -> Any:
            def count(*args: Any, **kwargs: Any) -> Any:
                requests[name] += 1
                return call(*args, **kwargs)

            return count

        for name in (*self.CALLS, self.CALLBACK_ANSWER):
            wrapped = counted(name, getattr(jsii.kernel, name))
            setattr(jsii.kernel, name, wrapped)  # the runtime's own calls (`kernel.create`, callbacks)
            if name in self.CALLS:
                setattr(jsii, name, wrapped)  # `jsii.get(...)` in the generated classes

    def total(self) -> int:
        return sum(self.requests.values())


@contextmanager
def phase(lines: list[tuple[str, float, str]], name: str, note: str = "") -> Iterator[None]:
    start = time.perf_counter()
    yield
    lines.append((name, time.perf_counter() - start, note))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="all", help="dev, staging, prod or all (default)")
    parser.add_argument("--without-packs", action="store_true", help="leave out the compliance packs (measurement)")
    args = parser.parse_args(argv)

    counters_file = Path(tempfile.mkdtemp(prefix="synth-profile-")) / "counters.json"
    os.environ["CDK_PERF_COUNTERS_FILE"] = str(counters_file)  # read by the jsii kernel, which starts below
    lines: list[tuple[str, float, str]] = []
    trips = RoundTrips()
    started = time.perf_counter()

    with phase(lines, "start Node.js, load aws-cdk-lib into it"):
        import aws_cdk  # noqa: F401  (starts the jsii kernel)
    trips.install()
    with phase(lines, "import our modules and the rest of aws-cdk-lib"):
        from config import CONFIG_DIR, ENVIRONMENT_NAMES, load_environments
        from stacks import compliance
        from stacks.platform_app import build_app, new_app
        from stacks.platform_stage import PlatformStage
    names = list(ENVIRONMENT_NAMES) if args.env == "all" else [args.env]
    with phase(lines, "read and validate the config"):
        configs = load_environments(names, CONFIG_DIR)

    if args.without_packs:
        compliance.COMPLIANCE_PACKS = ()  # type: ignore[assignment]
    app = new_app(outdir=tempfile.mkdtemp(prefix="synth-profile-out-"))
    app.node.set_context(SLOW_SYNTH_THRESHOLD, 0)
    for config in configs:
        before = trips.total()
        with phase(lines, f"construct {config.name}", ""):
            PlatformStage(app, config=config)
        name, seconds, _ = lines.pop()
        lines.append((name, seconds, f"{trips.total() - before} round trips"))
    build_app([], app)  # registers the packs, as build_app does after adding the stages
    before = trips.total()
    with phase(lines, "synthesise (below: aws-cdk-lib's counters)"):
        compliance.synthesize(app)
    name, seconds, _ = lines.pop()
    lines.append((name, seconds, f"{trips.total() - before} round trips"))
    total = time.perf_counter() - started

    counters: dict[str, float] = json.loads(counters_file.read_text(encoding="utf-8"))["counters"]
    validate = counters.get("validateTemplates", 0.0) / 1000
    cfn = counters.get("CloudFormationValidate.validate", 0.0) / 1000
    synthesis = counters.get("phase:Synthesis", 0.0) / 1000
    detail = [
        ("  validation plugins", validate, "the compliance packs, the built-in validation and its engine start"),
        ("    of which the built-in validation's rules", cfn, "over every template"),
        ("  everything else", synthesis - validate, "aspects, tokens, templates, assets"),
    ]
    width = max(len(name) for name, _, _ in lines + detail)
    print(f"{'phase':{width}} {'seconds':>8}")
    for name, seconds, note in lines[:-1]:
        print(f"{name:{width}} {seconds:8.2f}  {note}")
    name, seconds, note = lines[-1]
    print(f"{name:{width}} {seconds:8.2f}  {note}")
    for name, seconds, note in detail:
        print(f"{name:{width}} {seconds:8.2f}  {note}")
    print(f"{'total in Python (after the interpreter started)':{width}} {total:8.2f}")
    print(f"round trips by kind: {dict(trips.requests.most_common())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
