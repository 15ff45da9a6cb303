"""`make cost`: the monthly cost of each environment in a cloud assembly, and what a change costs.

    python -m tools.cost_report [--assembly cdk.out] [--env prod] [--baseline cdk.out.baseline] [--json FILE]

Prices every stack of every environment in the assembly (tools/cost_estimate.py, prices from
config/prices.toml) and prints one table per environment: the monthly cost by service and resource
and, beside it, what Spot, reservations, S3 lifecycle rules, ARM64 and the night schedule save.
With --baseline, prints instead what changes between the baseline assembly and this one, per
environment and per resource. Reads only the assembly and the price table: no AWS call.

Exit status: 0 with a table; 1 when a resource cannot be priced (each named); 2 when an assembly
cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from config.prices import PRICES_FILE, PriceTable, load_price_table
from tools.cloud_assembly import AssemblyError, read_stacks
from tools.cost_estimate import SAVINGS, CostError, EnvironmentEstimate, Line, StackInput, estimate_environment

SAVING_TITLES = {
    "spot": "Spot",
    "reservations": "Reserved",
    "lifecycle": "Lifecycle",
    "arm64": "ARM64",
    "night": "Night",
}
RESOURCE_WIDTH = 44


def read_assembly(outdir: Path) -> dict[str, list[StackInput]]:
    """{environment: its stacks} of a synthesised cloud assembly, environments as config names."""
    environments: dict[str, list[StackInput]] = {}
    for stack in read_stacks(outdir):
        environments.setdefault(stack.environment, []).append(StackInput(stack.name, stack.template, stack.metadata))
    return environments


def estimate_assembly(
    outdir: Path, prices: PriceTable, only: str = "all", *, missing_ok: bool = False
) -> dict[str, EnvironmentEstimate]:
    """Each environment's estimate; `missing_ok` (a baseline) lets `only` be absent: a new environment."""
    environments = read_assembly(outdir)
    if only != "all":
        if only not in environments and not missing_ok:
            raise AssemblyError(f"{outdir} has no environment {only!r}; it has {', '.join(sorted(environments))}")
        environments = {only: environments[only]} if only in environments else {}
    return {name: estimate_environment(name, stacks, prices) for name, stacks in sorted(environments.items())}


# --- rendering ------------------------------------------------------------------------------------


def _usd(value: float) -> str:
    return f"{value:,.2f}"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def render_estimate(estimate: EnvironmentEstimate, prices: PriceTable) -> str:
    header = ["Service", "Resource", "USD/month", *(f"-{SAVING_TITLES[c]}" for c in SAVINGS), "What"]
    rows: list[list[str]] = []
    by_service: dict[str, list[Line]] = {}
    for line in estimate.lines:
        by_service.setdefault(line.service, []).append(line)
    for service, lines in sorted(by_service.items(), key=lambda item: -sum(line.monthly for line in item[1])):
        for line in sorted(lines, key=lambda line: (-line.monthly, line.resource)):
            savings = [_usd(line.savings[c]) if c in line.savings else "" for c in SAVINGS]
            rows.append([service, _short(line.resource, RESOURCE_WIDTH), _usd(line.monthly), *savings, line.detail])
        subtotal = [sum(line.savings.get(c, 0.0) for line in lines) for c in SAVINGS]
        rows.append(["", f"{service} total", _usd(sum(line.monthly for line in lines)),
                     *(_usd(value) if value else "" for value in subtotal), ""])  # fmt: skip
    totals = [estimate.saved(choice) for choice in SAVINGS]
    rows.append(["TOTAL", "", _usd(estimate.total), *(_usd(value) if value else "" for value in totals), ""])
    out = [
        f"== {estimate.environment}: {_usd(estimate.total)} USD a month "
        f"(prices {prices.region}, as of {prices.as_of}; USD/month is as built, -Choice is what that choice saves)",
        _table(header, rows),
        "Saved by the guide's choices, each alone against the same table: "
        + ", ".join(f"{SAVING_TITLES[c]} {_usd(v)}" for c, v in zip(SAVINGS, totals, strict=True)),
    ]
    usage = estimate.assumptions
    out.append(
        f"Assumed usage ([cost.estimate]): {usage.requests_millions:g} M requests, "
        f"{usage.data_out_gb:g} GB CloudFront out, {usage.nat_gb:g} GB through NAT, "
        f"{usage.load_balancer_lcus:g} LCU, {usage.log_ingest_gb:g} GB logs ingested, "
        f"{usage.log_archive_gb:g} GB/month into each log bucket, {usage.bucket_stored_gb:g} GB in each other bucket"
    )
    if estimate.usage_only:
        usage_only = sorted(estimate.usage_only.items())
        counts = ", ".join(f"{count} {kind.removeprefix('AWS::')}" for kind, count in usage_only)
        out.append(f"Not estimated (priced by usage this estimate does not model): {counts}")
    out.extend(f"Note: {note}" for note in estimate.notes)
    return "\n".join(out)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[index]) for row in [header, *rows]) for index in range(len(header) - 1)]
    numeric = {index for index, title in enumerate(header) if title.startswith("-") or title == "USD/month"}

    def render(row: list[str]) -> str:
        cells = [cell.rjust(width) if index in numeric else cell.ljust(width)
                 for index, (cell, width) in enumerate(zip(row, widths, strict=False))]  # fmt: skip
        return "  ".join([*cells, row[-1]]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(header), rule, *(render(row) for row in rows)])


def render_difference(before: dict[str, EnvironmentEstimate], after: dict[str, EnvironmentEstimate]) -> str:
    out: list[str] = []
    for environment in sorted(set(before) | set(after)):
        old, new = before.get(environment), after.get(environment)
        old_total = old.total if old else 0.0
        new_total = new.total if new else 0.0
        change = new_total - old_total
        share = f" ({change / old_total * 100:+.1f} %)" if old_total else ""
        state = " (new environment)" if old is None else " (environment removed)" if new is None else ""
        totals = f"{_usd(old_total)} -> {_usd(new_total)} USD a month"
        out.append(f"== {environment}: {totals}, {change:+,.2f}{share}{state}")
        old_lines = {(line.stack, line.resource): line for line in (old.lines if old else ())}
        new_lines = {(line.stack, line.resource): line for line in (new.lines if new else ())}
        changed = []
        for key in sorted(set(old_lines) | set(new_lines)):
            was, now = old_lines.get(key), new_lines.get(key)
            delta = (now.monthly if now else 0.0) - (was.monthly if was else 0.0)
            if was and now and abs(delta) < 0.005 and was.detail == now.detail:
                continue
            kind = "added" if was is None else "removed" if now is None else "changed"
            detail = now.detail if now else was.detail if was else ""
            if was and now and was.detail != now.detail:
                detail = f"{was.detail}  ->  {now.detail}"
            changed.append((abs(delta), f"  {delta:+10,.2f}  {kind:7}  {key[0]} {key[1]}: {detail}"))
        out.extend(text for _, text in sorted(changed, key=lambda item: -item[0]))
        if not changed:
            out.append("  no change")
        for choice in SAVINGS:
            saved_before = old.saved(choice) if old else 0.0
            saved_after = new.saved(choice) if new else 0.0
            if abs(saved_after - saved_before) >= 0.005:
                out.append(f"  saved by {SAVING_TITLES[choice]}: {_usd(saved_before)} -> {_usd(saved_after)}")
    return "\n".join(out)


def as_json(estimates: dict[str, EnvironmentEstimate], prices: PriceTable) -> dict[str, Any]:
    return {
        "prices": {"source": prices.source, "as_of": prices.as_of, "region": prices.region},
        "environments": {
            name: {
                "total": round(estimate.total, 2),
                "saved": {choice: round(estimate.saved(choice), 2) for choice in SAVINGS},
                "lines": [
                    {
                        "stack": line.stack,
                        "resource": line.resource,
                        "service": line.service,
                        "detail": line.detail,
                        "monthly": round(line.monthly, 2),
                        "savings": {choice: round(value, 2) for choice, value in line.savings.items()},
                    }
                    for line in estimate.lines
                ],
                "usage_only": dict(estimate.usage_only),
                "assumptions": estimate.assumptions.model_dump(),
                "notes": list(estimate.notes),
            }
            for name, estimate in estimates.items()
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--assembly", type=Path, default=Path("cdk.out"), help="cloud assembly to price")
    parser.add_argument("--env", default="all", help="dev, staging, prod or all (default)")
    parser.add_argument("--baseline", type=Path, help="a baseline cloud assembly: print the difference instead")
    parser.add_argument("--prices", type=Path, default=PRICES_FILE, help="price table (default config/prices.toml)")
    parser.add_argument("--json", type=Path, help="also write the estimate as JSON to this file")
    args = parser.parse_args(argv)
    try:
        prices = load_price_table(args.prices)
        after = estimate_assembly(args.assembly, prices, args.env)
        before = estimate_assembly(args.baseline, prices, args.env, missing_ok=True) if args.baseline else None
    except AssemblyError as error:
        print(f"cost: {error}", file=sys.stderr)
        return 2
    except CostError as error:
        print(f"cost: {error}", file=sys.stderr)
        return 1
    if before is not None:
        print(render_difference(before, after))
    else:
        print("\n\n".join(render_estimate(estimate, prices) for estimate in after.values()))
    if args.json:
        args.json.write_text(json.dumps(as_json(after, prices), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
