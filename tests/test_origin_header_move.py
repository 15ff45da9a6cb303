"""The origin header's secret: read by name everywhere, owned by the network stack, moved without a 403.

- No template of any environment builds a `{{resolve:...}}` reference from another stack's output (what
  the edge did before: `Fn::GetStackOutput` inside a dynamic reference, which nothing documents).
- The move, played through tests/origin_header_model.py on the templates themselves: the templates before
  it (tests/fixtures/origin_header/before_move.json), the transitional release
  (`load_balancer.keep_former_origin_secret = true`), the final one (`false`), and then the services stack
  destroyed and deployed again. At every moment of every order the stacks' dependencies allow, each
  listener rule accepts every value the distribution may send, and every reference resolves.
- The guard (`make diff`) refuses the final release's removal of the former secret unless the
  allow-list block of docs/runbooks/origin-header.md names it.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import jmespath  # type: ignore[import-untyped]
import pytest
from botocore import xform_name  # type: ignore[import-untyped]

from config import CONFIG_DIR, ENVIRONMENT_NAMES
from config.edge import EDGE_REGION
from config.loader import ConfigError, validate_environment
from platform_constructs.physical_names import origin_header_secret_name
from tests.conftest import SynthesizedEnvironment
from tests.origin_header_model import (
    SECRET,
    ForbiddenError,
    StackTemplate,
    State,
    UnresolvableError,
    Value,
    assembly_stacks,
    cross_stack_dynamic_references,
    deploy,
    destroy,
    every_order,
    fixture_stacks,
    orders,
)

ROOT = Path(__file__).resolve().parent.parent
BEFORE_MOVE = Path(__file__).parent / "fixtures" / "origin_header" / "before_move.json"
#: The stacks the origin header involves.
STACKS = ("-network", "-services", "-edge")


def before_move(name: str) -> dict[str, StackTemplate]:
    data = json.loads(BEFORE_MOVE.read_text(encoding="utf-8"))
    return fixture_stacks(data["environments"][name])


def stack(stacks: dict[str, StackTemplate], suffix: str) -> StackTemplate:
    (found,) = [s for name, s in stacks.items() if name.endswith(suffix)]
    return found


# --- every template, every environment (fast) ----------------------------------------------------


def test_no_template_builds_a_dynamic_reference_from_another_stacks_output(env: SynthesizedEnvironment) -> None:
    files = env.template_files()
    assert len(files) == len(env.stacks)
    for file in files:
        template = json.loads(file.read_text(encoding="utf-8"))
        assert cross_stack_dynamic_references(template) == [], file.name


@pytest.mark.parametrize("name", ENVIRONMENT_NAMES)
def test_the_check_finds_what_the_edge_did_before_the_move(name: str) -> None:
    """The check above is not vacuous: it flags the former edge's header, built from the services' output."""
    edge = stack(before_move(name), "-edge")
    (path,) = cross_stack_dynamic_references(edge.template)
    assert "OriginCustomHeaders" in path


def test_the_edge_and_the_listener_read_the_same_secret_by_name(env: SynthesizedEnvironment) -> None:
    name = origin_header_secret_name(env.config.name)
    stacks = assembly_stacks(env.outdir, STACKS)
    network, services, edge = (stack(stacks, suffix) for suffix in STACKS)
    owners = [s.name for s in stacks.values() for r in s.resources(SECRET).values() if r["Properties"].get("Name")]
    assert owners == [network.name]
    assert f"{{{{resolve:secretsmanager:{name}:SecretString:value::}}}}" in json.dumps(edge.template)
    assert f"{{{{resolve:secretsmanager:{name}:SecretString:value:AWSCURRENT:}}}}" in json.dumps(services.template)
    state = next(every_order({}, stacks))
    sent = state[edge.name].sent
    assert sent is not None
    ((value,),) = [sent[1]]
    assert (value.stack, value.stage) == (network.name, "AWSCURRENT")


# --- the move, step by step (slow: a synthesis per environment) -----------------------------------


@pytest.fixture(scope="module")
def releases(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, bool], Path]:
    """The assembly of an environment with `keep_former_origin_secret` on (transitional) or off (final)."""
    from tests.test_day2_changes import synth_changed

    cache: dict[tuple[str, bool], Path] = {}

    def get(name: str, keep_former: bool) -> Path:
        if (name, keep_former) not in cache:
            committed = platform(name)
            if committed.config.load_balancer.keep_former_origin_secret is keep_former:
                cache[name, keep_former] = committed.outdir
            else:
                outdir = tmp_path_factory.mktemp(f"origin-{name}-{'transitional' if keep_former else 'final'}")
                cache[name, keep_former] = synth_changed(
                    name, outdir, load_balancer__keep_former_origin_secret=keep_former
                )
        return cache[name, keep_former]

    return get


def run_the_move(name: str, releases: Callable[[str, bool], Path]) -> Iterator[tuple[str, State]]:
    """Every path through the runbook: (the step, the state after it), over every allowed order."""
    transitional = assembly_stacks(releases(name, True), STACKS)
    final = assembly_stacks(releases(name, False), STACKS)
    services = stack(final, "-services").name
    for before in every_order({}, before_move(name)):
        for during in every_order(before, transitional):
            yield "transitional release", during
            for after in every_order(during, final):
                yield "final release", after
                gone = destroy(after, services)
                for again in every_order(gone, {services: final[services]}, generation={services: 1}):
                    yield "services stack destroyed and deployed again", again


@pytest.mark.slow
@pytest.mark.parametrize("name", ENVIRONMENT_NAMES)
def test_no_step_of_the_move_answers_403(name: str, releases: Callable[[str, bool], Path]) -> None:
    steps = list(run_the_move(name, releases))  # raises ForbiddenError or UnresolvableError at the first bad moment
    assert {step for step, _ in steps} == {
        "transitional release",
        "final release",
        "services stack destroyed and deployed again",
    }
    network = stack(assembly_stacks(releases(name, False), STACKS), "-network")
    (new_secret,) = network.resources(SECRET)
    for step, state in steps:
        edge = next(d for n, d in state.items() if n.endswith("-edge"))
        assert edge.sent is not None
        # from the transitional release on, the distribution sends the network stack's secret, created once
        assert edge.sent[1] == {Value(network.name, new_secret, 0, "AWSCURRENT")}, step


@pytest.mark.slow
@pytest.mark.parametrize("name", ENVIRONMENT_NAMES)
def test_skipping_the_transitional_release_would_answer_403(name: str, releases: Callable[[str, bool], Path]) -> None:
    """The model sees the outage the transitional release prevents: straight from before the move to the
    final templates, the listener accepts only the new value while the distribution still sends the old."""
    final = assembly_stacks(releases(name, False), STACKS)
    (before,) = list(every_order({}, before_move(name)))
    allowed = orders(final, within={n: d.stack for n, d in before.items()})
    assert allowed
    for order in allowed:
        with pytest.raises(ForbiddenError, match="refuses"):
            deploy(before, final, order)


@pytest.mark.slow
@pytest.mark.parametrize("name", ENVIRONMENT_NAMES)
def test_a_first_deploy_resolves_the_replica_in_every_order_and_needs_the_edges_dependencies(
    name: str, releases: Callable[[str, bool], Path]
) -> None:
    final = assembly_stacks(releases(name, False), STACKS)
    assert len(list(every_order({}, final))) >= 1  # each allowed order resolves and answers
    edge = stack(final, "-edge")
    assert {stack(final, "-network").name, stack(final, "-services").name} <= edge.dependencies
    # without them the edge could deploy first and name a secret that does not exist yet
    loose = {**final, edge.name: StackTemplate(edge.name, edge.region, frozenset(), edge.template)}
    with pytest.raises(UnresolvableError, match="no secret named"):
        deploy({}, loose, [edge.name, *(n for n in final if n != edge.name)])


@pytest.mark.parametrize("name", ENVIRONMENT_NAMES)
def test_the_former_layout_lost_the_header_with_the_services_stack(name: str) -> None:
    """What the move fixes: before it, a services stack deployed again generated a new secret whose value the
    distribution, still sending the old one, did not have."""
    stacks = before_move(name)
    services = stack(stacks, "-services").name
    (state,) = list(every_order({}, stacks))
    with pytest.raises(ForbiddenError):
        deploy(destroy(state, services), {services: stacks[services]}, [services], generation={services: 1})


@pytest.mark.slow
@pytest.mark.parametrize("name", ENVIRONMENT_NAMES)
def test_the_services_stack_owns_no_origin_secret_once_the_move_is_done(
    name: str, releases: Callable[[str, bool], Path]
) -> None:
    final = assembly_stacks(releases(name, False), STACKS)
    services = stack(final, "-services")
    assert services.resources(SECRET) == {}
    assert "Outputs" not in services.template or "OriginSecretEdgeArn" not in services.template["Outputs"]
    text = json.dumps(services.template)
    assert f"{{{{resolve:secretsmanager:{origin_header_secret_name(name)}:" in text
    assert '{{resolve:secretsmanager:", {' not in text  # no reference built from a Ref or an output


# --- the guard ------------------------------------------------------------------------------------


def readme_allow_block() -> str:
    readme = (ROOT / "docs" / "runbooks" / "origin-header.md").read_text(encoding="utf-8")
    section = readme.split("# The origin header", 1)[1]
    (block,) = re.findall(r"```toml\n(.*?)```", section, flags=re.DOTALL)
    return str(block)


def diff(baseline: Path, current: Path, name: str, allow: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tools.diff_stacks", "--baseline", str(baseline), "--current", str(current)]
    return subprocess.run(
        [*command, "--env", name, "--allow", str(allow)], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ENVIRONMENT_NAMES)
def test_make_diff_refuses_the_former_secrets_removal_unless_the_readme_entry_allows_it(
    name: str, releases: Callable[[str, bool], Path], tmp_path: Path
) -> None:
    transitional, final = releases(name, True), releases(name, False)
    former = [logical_id for logical_id in stack(assembly_stacks(transitional, STACKS), "-services").resources(SECRET)]
    assert former == ["OriginHeaderSecret3EC73FD9"]  # the logical ID deployed before the move, kept meanwhile
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    refused = diff(transitional, final, name, empty)
    output = refused.stdout + refused.stderr
    assert refused.returncode == 1, output
    assert f"AWS::SecretsManager::Secret {former[0]}" in output
    assert "diff: 1 unsafe change(s)" in output  # the former secret only: the new one is added, not moved
    allow = tmp_path / "allow.toml"
    allow.write_text(readme_allow_block(), encoding="utf-8")
    allowed = diff(transitional, final, name, allow)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "allowed" in allowed.stdout + allowed.stderr


# --- the runbook's commands, as written ------------------------------------------------------------

#: The values the runbook's placeholders stand for in these tests.
PLACEHOLDERS = {"<env>": "dev", "<Env>": "Dev", "<DistributionId>": "E2EXAMPLE0000"}
GLOBAL_OPTIONS = {"--query", "--output", "--region"}


def readme_section() -> str:
    readme = (ROOT / "docs" / "runbooks" / "origin-header.md").read_text(encoding="utf-8")
    return readme.split("# The origin header", 1)[1]


def readme_commands(program: str) -> list[list[str]]:
    """Every inline command of the section that starts with `program`, placeholders filled in, as argv."""
    found = []
    prose = re.sub(r"```.*?```", "", readme_section(), flags=re.DOTALL)  # fenced blocks hold no inline command
    for span in re.findall(r"`([^`]+)`", prose):
        text = " ".join(span.split())
        if text.startswith(program + " "):
            for placeholder, value in PLACEHOLDERS.items():
                text = text.replace(placeholder, value)
            found.append(shlex.split(text))
    return found


def aws_call(argv: list[str]) -> tuple[str, str, dict[str, Any], dict[str, str]]:
    """(service, operation, parameters, global options) of an `aws` command, checked against botocore's model:
    the operation (or waiter) exists, every option is one of its parameters, every required one is given."""
    _, service, command, *rest = argv
    client = boto3.client(service, region_name=EDGE_REGION)
    if command == "wait":
        waiter, *rest = rest
        assert waiter.replace("-", "_") in client.waiter_names, argv
        operation = client.get_waiter(waiter.replace("-", "_")).config.operation
    else:
        operation = client.meta.service_model.operation_model(
            "".join(part.capitalize() for part in command.split("-"))
        ).name
    shape = client.meta.service_model.operation_model(operation).input_shape
    assert shape is not None
    members = {xform_name(name, "-"): name for name in shape.members}
    parameters: dict[str, Any] = {}
    options: dict[str, str] = {}
    index = 0
    while index < len(rest):
        option = rest[index]
        assert option.startswith("--"), (argv, option)
        if option in GLOBAL_OPTIONS:
            options[option] = rest[index + 1]
            index += 2
            continue
        member = members.get(option[2:])
        assert member is not None, f"{argv}: {option} is not a parameter of {operation}"
        kind = shape.members[member].type_name
        if kind == "boolean":
            parameters[member] = True
            index += 1
        elif kind == "list":
            values = list(itertools.takewhile(lambda v: not v.startswith("--"), rest[index + 1 :]))
            parameters[member] = values
            index += 1 + len(values)
        else:
            parameters[member] = rest[index + 1]
            index += 2
    assert set(shape.required_members) <= set(parameters), argv
    if "--query" in options:
        jmespath.compile(options["--query"])
    return service, operation, parameters, options


def test_the_readmes_aws_commands_name_real_operations_and_parameters() -> None:
    commands = readme_commands("aws")
    operations = {aws_call(argv)[1] for argv in commands}
    assert {
        "DescribeSecret",
        "PutSecretValue",
        "RemoveRegionsFromReplication",
        "DeleteSecret",
        "GetDistribution",  # aws cloudfront wait distribution-deployed
    } == operations


@pytest.mark.slow
def test_the_readmes_secret_commands_work_on_the_secret_as_the_network_stack_creates_it() -> None:
    """Against moto: the replica check prints InSync, a new value reaches the replica and leaves AWSPREVIOUS,
    and dev's clean-up frees the name."""
    from moto import mock_aws

    calls = {aws_call(argv)[1]: aws_call(argv) for argv in readme_commands("aws secretsmanager")}
    name = origin_header_secret_name("dev")
    with mock_aws():
        main = boto3.client("secretsmanager", region_name="ap-northeast-2")
        edge = boto3.client("secretsmanager", region_name=EDGE_REGION)
        main.create_secret(Name=name, SecretString='{"value":"first"}', AddReplicaRegions=[{"Region": EDGE_REGION}])

        def run(operation: str) -> Any:
            _, _, parameters, options = calls[operation]
            response = getattr(main, xform_name(operation))(**parameters)
            return jmespath.search(options["--query"], response) if "--query" in options else response

        assert run("DescribeSecret") == "InSync"
        run("PutSecretValue")
        current = json.loads(edge.get_secret_value(SecretId=name)["SecretString"])["value"]
        assert current != "first"
        previous = main.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"]
        assert json.loads(previous)["value"] == "first"
        run("RemoveRegionsFromReplication")
        run("DeleteSecret")
        main.create_secret(Name=name, SecretString='{"value":"again"}')  # the name is free at once


def test_the_readmes_deploy_command_selects_the_three_stacks_of_the_move(env: SynthesizedEnvironment) -> None:
    (argv,) = {tuple(a) for a in readme_commands("PATH=$PWD/.venv/bin:$PATH")}
    assert argv[1:4] == ("npx", "cdk", "deploy")
    assert argv[4:6] == ("-c", "env=dev")
    pattern = argv[6].replace("Dev", env.stage.node.id)
    selected = {s.node.path for s in env.stacks if fnmatch.fnmatchcase(s.node.path, pattern)}
    assert {f"{env.stage.node.id}/{name}" for name in ("Network", "Services", "Edge")} <= selected
    assert selected == {s.node.path for s in env.stacks}  # '<Env>/*': every stack, in dependency order


@pytest.mark.parametrize("name", ENVIRONMENT_NAMES)
def test_a_rotation_during_the_move_is_refused_with_the_reason(name: str) -> None:
    """Both would need a third header value in a rule that holds two: the config says so, nothing is built."""
    data = tomllib.loads((CONFIG_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    data["load_balancer"] |= {"keep_former_origin_secret": True, "accept_previous_origin_header": True}
    with pytest.raises(ConfigError) as error:
        validate_environment(data, source=f"{name}.toml", expected_name=name)
    (problem,) = error.value.problems
    assert "load_balancer.accept_previous_origin_header" in problem
    assert "keep_former_origin_secret" in problem
    assert "finish the move" in problem
    data["load_balancer"]["keep_former_origin_secret"] = False  # after the move, a rotation is fine
    assert validate_environment(data, source=f"{name}.toml", expected_name=name).load_balancer
