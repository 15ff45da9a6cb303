"""A model of what CloudFormation resolves for the origin header, deploy by deploy, from the templates alone.

The listener rules accept the header values their dynamic references resolved to when CloudFormation last
deployed them; the distribution sends the value its reference resolved to when it was last deployed (and,
while CloudFront propagates a change, the one before). A value is one version stage of one secret as one
deploy of its stack created it: a stack deleted and deployed again creates new secrets, with new values.

`deploy` plays one step of a runbook (a `cdk deploy` of a set of templates) in an order that respects the
stacks' dependencies, and after every stack it checks that each rule accepts what the distribution may
send; a reference that cannot be resolved (a secret that does not exist, or not in the reading stack's
region) fails the deploy. `orders` gives every order the dependencies allow (the CLI may take any).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_constructs.origin_load_balancer import ORIGIN_HEADER_NAME

SECRET = "AWS::SecretsManager::Secret"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
DISTRIBUTION = "AWS::CloudFront::Distribution"
#: Intrinsic functions that read another stack's output.
CROSS_STACK = ("Fn::GetStackOutput", "Fn::ImportValue")
_REFERENCE = re.compile(
    r"^\{\{resolve:secretsmanager:(?P<id>.+?):SecretString:(?P<key>[^:]*):(?P<stage>[^:]*):(?P<version>[^:]*)\}\}$"
)
_TOKEN = "\x00{}\x00"
_ARN_REGION = re.compile(r"secretsmanager:(?P<region>[a-z0-9-]+):")


@dataclass(frozen=True)
class StackTemplate:
    """What the model reads of one stack: where it deploys, what it waits for, its template."""

    name: str
    region: str
    dependencies: frozenset[str]
    template: Mapping[str, Any]

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template.get("Resources", {}).items() if r["Type"] == kind}


@dataclass(frozen=True)
class Value:
    """One header value: a version stage of one secret, as one deploy of its stack created it."""

    stack: str
    logical_id: str
    generation: int
    stage: str


class UnresolvableError(Exception):
    """CloudFormation would fail the deploy: a dynamic reference names nothing it can read."""


class ForbiddenError(Exception):
    """A moment at which the distribution sends a value a listener rule does not accept: `/api/*` answers 403."""


@dataclass
class Deployed:
    stack: StackTemplate
    generation: int
    #: per listener rule (logical ID): (its conditions as deployed, the values they resolved to)
    rules: dict[str, tuple[str, frozenset[Value]]] = field(default_factory=dict)
    #: the distribution's origin headers as deployed, and the values they resolved to
    sent: tuple[str, frozenset[Value]] | None = None


State = dict[str, Deployed]


def assembly_stacks(outdir: Path, names: Sequence[str]) -> dict[str, StackTemplate]:
    """The stacks of a synthesised cloud assembly whose names end in one of `names` (e.g. ``-edge``)."""
    found = {}
    for nested in json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))["artifacts"].values():
        if nested["type"] != "cdk:cloud-assembly":
            continue
        directory = outdir / nested["properties"]["directoryName"]
        artifacts = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))["artifacts"]
        stacks = {key: a for key, a in artifacts.items() if a["type"] == "aws:cloudformation:stack"}
        stack_names = {key: a["properties"]["stackName"] for key, a in stacks.items()}
        for artifact in stacks.values():
            name = artifact["properties"]["stackName"]
            if not name.endswith(tuple(names)):
                continue
            template = json.loads((directory / artifact["properties"]["templateFile"]).read_text(encoding="utf-8"))
            dependencies = frozenset(stack_names[d] for d in artifact.get("dependencies", []) if d in stack_names)
            found[name] = StackTemplate(name, artifact["environment"].rsplit("/", 1)[1], dependencies, template)
    return found


def fixture_stacks(data: Mapping[str, Any]) -> dict[str, StackTemplate]:
    return {
        name: StackTemplate(name, stack["region"], frozenset(stack["dependencies"]), stack["template"])
        for name, stack in data.items()
    }


def orders(
    stacks: Mapping[str, StackTemplate], *, within: Mapping[str, StackTemplate] | None = None
) -> list[list[str]]:
    """Every order of `stacks` that deploys each after what it depends on, directly or through `within`."""
    graph = {name: set(stack.dependencies) for name, stack in {**(within or {}), **stacks}.items()}

    def closure(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        found: set[str] = set()
        for dependency in graph.get(name, set()) - seen:
            found |= {dependency} | closure(dependency, seen | {name})
        return found

    after = {name: closure(name) for name in stacks}
    return [
        list(order)
        for order in itertools.permutations(sorted(stacks))
        if all(not (after[order[i]] & set(order[i + 1 :])) for i in range(len(order)))
    ]


def cross_stack_dynamic_references(template: Mapping[str, Any]) -> list[str]:
    """The paths of every value of `template` that builds a `{{resolve:` string from another stack's output."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for function in ("Fn::Join", "Fn::Sub"):
                if function in node:
                    text = json.dumps(node[function])
                    if "{{resolve:" in text and any(f'"{name}"' in text for name in CROSS_STACK):
                        found.append(f"{path}/{function}")
                        return
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}/{index}")

    walk(dict(template), "")
    return found


def _parts(expression: Any) -> list[Any]:
    if isinstance(expression, str):
        return [expression]
    if isinstance(expression, dict) and set(expression) == {"Fn::Join"}:
        separator, parts = expression["Fn::Join"]
        if separator == "":
            return [part for piece in parts for part in _parts(piece)]
    return [expression]


def _secret_of(state: State, stack_name: str, logical_id: str, region: str) -> tuple[Deployed, str]:
    deployed = state.get(stack_name)
    if deployed is None or logical_id not in deployed.stack.resources(SECRET):
        raise UnresolvableError(f"{stack_name} holds no secret {logical_id}")
    properties = deployed.stack.resources(SECRET)[logical_id]["Properties"]
    replicas = {replica["Region"] for replica in properties.get("ReplicaRegions", [])}
    if region != deployed.stack.region and region not in replicas:
        raise UnresolvableError(f"{stack_name}'s {logical_id} has no replica in {region}")
    return deployed, logical_id


def resolve(expression: Any, reader: StackTemplate, state: State) -> Value:
    """The value a `{{resolve:secretsmanager:...}}` reference of stack `reader` resolves to in `state`."""
    parts = _parts(expression)
    tokens = [part for part in parts if not isinstance(part, str)]
    text = "".join(part if isinstance(part, str) else _TOKEN.format(index) for index, part in enumerate(parts))
    match = _REFERENCE.match(text)
    if match is None:
        raise ValueError(f"not a Secrets Manager dynamic reference: {json.dumps(expression)}")
    stage = match["stage"] or "AWSCURRENT"
    secret_id = match["id"]
    if not tokens:  # a name: any stack's secret of that name, readable in the reader's region
        for deployed in state.values():
            for logical_id, secret in deployed.stack.resources(SECRET).items():
                if secret["Properties"].get("Name") == secret_id:
                    owner, _ = _secret_of(state, deployed.stack.name, logical_id, reader.region)
                    return Value(owner.stack.name, logical_id, owner.generation, stage)
        raise UnresolvableError(f"no secret named {secret_id} is deployed (reading from {reader.name})")
    (token,) = tokens
    if secret_id != _TOKEN.format(parts.index(token)):
        raise ValueError(f"a secret id partly built from a token: {json.dumps(expression)}")
    if "Ref" in token:
        owner, _ = _secret_of(state, reader.name, token["Ref"], reader.region)
        return Value(reader.name, token["Ref"], owner.generation, stage)
    if "Fn::GetStackOutput" in token:
        output = token["Fn::GetStackOutput"]
        source = state.get(output["StackName"])
        outputs = source.stack.template.get("Outputs", {}) if source else {}
        if output["OutputName"] not in outputs:
            raise UnresolvableError(f"{output['StackName']} has no output {output['OutputName']}")
        value = json.dumps(outputs[output["OutputName"]]["Value"])
        refs = [ref for ref in re.findall(r'\{"Ref": "([^"]+)"\}', value) if not ref.startswith("AWS::")]
        region = _ARN_REGION.search(value)
        if len(refs) != 1 or region is None or region["region"] != reader.region:
            raise UnresolvableError(f"{output['OutputName']} names no secret readable in {reader.region}: {value}")
        owner, _ = _secret_of(state, output["StackName"], refs[0], reader.region)
        return Value(owner.stack.name, refs[0], owner.generation, stage)
    raise ValueError(f"the model does not know this secret id: {json.dumps(token)}")


def _header_values(conditions: Sequence[Mapping[str, Any]]) -> list[Any]:
    for condition in conditions:
        if (
            condition["Field"] == "http-header"
            and condition["HttpHeaderConfig"]["HttpHeaderName"] == ORIGIN_HEADER_NAME
        ):
            return list(condition["HttpHeaderConfig"]["Values"])
    return []


def _origin_headers(stack: StackTemplate) -> list[Any]:
    return [
        header["HeaderValue"]
        for distribution in stack.resources(DISTRIBUTION).values()
        for origin in distribution["Properties"]["DistributionConfig"]["Origins"]
        for header in origin.get("OriginCustomHeaders", [])
        if header["HeaderName"] == ORIGIN_HEADER_NAME
    ]


def _deploy_one(state: State, stack: StackTemplate, generation: int) -> Deployed:
    """CloudFormation deploys `stack`: references of what changed are resolved again, the rest keep theirs."""
    previous = state.get(stack.name)
    fresh = previous is None or previous.generation != generation
    deployed = Deployed(stack, generation)
    state[stack.name] = deployed  # its own secrets exist before the rules that refer to them
    for logical_id, rule in stack.resources(RULE).items():
        conditions = json.dumps(rule["Properties"]["Conditions"], sort_keys=True)
        kept = None if fresh or previous is None else previous.rules.get(logical_id)
        if kept is not None and kept[0] == conditions:
            deployed.rules[logical_id] = kept
        else:
            values = frozenset(resolve(v, stack, state) for v in _header_values(rule["Properties"]["Conditions"]))
            deployed.rules[logical_id] = (conditions, values)
    headers = _origin_headers(stack)
    if headers:
        text = json.dumps(headers, sort_keys=True)
        if not fresh and previous is not None and previous.sent is not None and previous.sent[0] == text:
            deployed.sent = previous.sent
        else:
            deployed.sent = (text, frozenset(resolve(h, stack, state) for h in headers))
    return deployed


def check(state: State, propagating: frozenset[Value], moment: str) -> None:
    """Every listener rule accepts every value the distribution may send now."""
    sent = {value for deployed in state.values() if deployed.sent for value in deployed.sent[1]} | propagating
    for deployed in state.values():
        for logical_id, (_, accepted) in deployed.rules.items():
            refused = sent - accepted
            if refused:
                raise ForbiddenError(
                    f"{moment}: {deployed.stack.name} {logical_id} refuses {sorted(map(str, refused))}"
                )


def deploy(
    state: State,
    stacks: Mapping[str, StackTemplate],
    order: Sequence[str],
    *,
    generation: Mapping[str, int] | None = None,
) -> State:
    """One `cdk deploy` of `stacks` in `order`: a copy of `state` afterwards; raises ForbiddenError or
    UnresolvableError.

    While a distribution that changed propagates (until the step's end: the runbook waits for
    `aws cloudfront wait distribution-deployed` before the next step), CloudFront sends its old value too.
    """
    state = dict(state)
    propagating: frozenset[Value] = frozenset()
    for name in order:
        stack = stacks[name]
        before = state.get(name)
        if before is not None and before.stack.template == stack.template:
            continue  # no change: CloudFormation deploys nothing, resolves nothing
        after = _deploy_one(state, stack, (generation or {}).get(name, before.generation if before else 0))
        if before is not None and before.sent is not None and after.sent != before.sent:
            propagating |= before.sent[1]
        check(state, propagating, f"after {name}")
    return state


def destroy(state: State, name: str) -> State:
    state = dict(state)
    del state[name]
    return state


def every_order(state: State, stacks: Mapping[str, StackTemplate], **kwargs: Any) -> Iterator[State]:
    """`deploy` in each order the dependencies allow; yields the state after each."""
    for order in orders(stacks, within={n: d.stack for n, d in state.items()}):
        yield deploy(state, stacks, order, **kwargs)
