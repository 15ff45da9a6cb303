"""Property-based tests of config validation: any input ends in a valid config or a readable ConfigError.

Valid configs are mutated at random (types, values, keys, text encodings). Validation must end in
exactly one of two ways: an `EnvironmentConfig`, or a `ConfigError` whose every line names the file
and a key path (or the file alone), in printable ASCII. Never a traceback, never another exception.
Tags are drawn from every script and every character AWS's general tag rule allows, at the lengths
resource kinds cut off: accepted exactly when every billed kind can carry them
(platform_constructs.tag_rules), refused by key otherwise. Validation is fast, so these run many
examples. The slow tier (`test_accepted_configs_synthesise_cleanly`) synthesises 25 accepted configs
drawn across the schema's ranges, tags in Hangul and other scripts among them (fixed seed, so CI is
repeatable), and asserts zero open compliance findings.
"""

from __future__ import annotations

import copy
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
import regex
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from config import CONFIG_DIR, ENVIRONMENT_NAMES, ConfigError, EnvironmentConfig, load_environment
from config.aws_offerings import cache_node_types, postgres_instance_classes
from config.aws_regions import ZONES_BY_REGION
from config.cache import CACHE_ENGINE_VERSIONS
from config.loader import load_services, validate_environment
from config.log_retention import LOG_RETENTION_DAYS
from config.tags import RESERVED_TAG_KEYS
from platform_constructs.accepted_values import (
    CACHE_NODE_FAMILIES,
    POSTGRES_INSTANCE_FAMILIES as DB_INSTANCE_FAMILIES,
)
from platform_constructs.tag_rules import NARROW_TAG_RULES, TAGS_LEFT_OFF

BASES: dict[str, dict[str, Any]] = {
    name: tomllib.loads((CONFIG_DIR / f"{name}.toml").read_text(encoding="utf-8")) for name in ENVIRONMENT_NAMES
}
#: "<file>: <key.path> = <value>: <message>", "<file>: <key.path>: <message>" or "<file>: <message>".
PROBLEM = re.compile(r"^(?P<file>[\w./-]+\.toml): (?P<rest>.+)$")
_KEY = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*")'
KEY_PATH = re.compile(rf"^{_KEY}(?:\.{_KEY}|\[\d+\])*( = .+)?: .+$")
FILE_LEVEL = re.compile(
    r"^(file not found|is a directory|is not a regular file|not valid TOML|not UTF-8"
    r"|starts with a byte-order mark|cannot be read)"
)

toml_scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-2, max_value=70_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=40),
    st.sampled_from(
        ["", " ", "ap-northeast-2a", "db.r7g.large", "10.0.0.0/16", "\uff11\uff12\uff13", "a\u200bb", "\x00", "é"]
    ),
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=6,
)


def key_paths(node: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for key, value in node.items():
        paths.append((*prefix, key))
        if isinstance(value, dict):
            paths.extend(key_paths(value, (*prefix, key)))
    return paths


@st.composite
def mutated_configs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(ENVIRONMENT_NAMES))
    data = copy.deepcopy(BASES[name])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(key_paths(data)))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add", "nudge"]))
        if action == "replace":
            parent[path[-1]] = draw(toml_values)
        elif action == "delete":
            del parent[path[-1]]
        elif action == "add":
            parent[draw(st.text(min_size=1, max_size=12))] = draw(toml_values)
        elif isinstance(parent[path[-1]], int) and not isinstance(parent[path[-1]], bool):
            parent[path[-1]] += draw(st.sampled_from([-1, 1, -(10**6), 10**6]))
        if not data:
            break
    return name, data


def assert_readable(error: ConfigError, source: str) -> None:
    assert error.problems, "a ConfigError without problems"
    for problem in error.problems:
        assert problem.isascii(), f"non-ASCII character in {problem!r}"
        assert problem.isprintable(), f"invisible character in {problem!r}"
        match = PROBLEM.match(problem)
        assert match, problem
        assert match["file"] == source, problem
        rest = match["rest"]
        assert KEY_PATH.match(rest) or FILE_LEVEL.match(rest), f"names neither a key path nor the file: {problem}"
        assert "pydantic" not in rest, f"library wording: {problem}"
        assert "Input should" not in rest, f"library wording: {problem}"


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_configs())
def test_any_mutation_ends_in_a_valid_config_or_a_readable_error(case: tuple[str, dict[str, Any]]) -> None:
    name, data = case
    try:
        config = validate_environment(data, source=f"{name}.toml", expected_name=name)
    except ConfigError as error:
        assert_readable(error, f"{name}.toml")
    else:
        assert isinstance(config, EnvironmentConfig)


@st.composite
def mutated_files(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(ENVIRONMENT_NAMES))
    text = (CONFIG_DIR / f"{name}.toml").read_text(encoding="utf-8")
    kind = draw(st.sampled_from(["utf16", "latin1", "bom", "insert", "truncate", "bytes"]))
    if kind == "utf16":
        return name, text.encode("utf-16")
    if kind == "latin1":
        return name, text.replace("platform-team", "plataforma-é").encode("latin-1")
    if kind == "bom":
        return name, "\ufeff".encode() + text.encode()
    data = text.encode()
    position = draw(st.integers(min_value=0, max_value=len(data)))
    if kind == "truncate":
        return name, data[:position]
    insert = (
        draw(st.binary(min_size=1, max_size=8)) if kind == "bytes" else draw(st.text(min_size=1, max_size=8)).encode()
    )
    return name, data[:position] + insert + data[position:]


@settings(max_examples=300, deadline=None)
@given(mutated_files())
def test_any_file_ends_in_a_valid_config_or_a_readable_error(case: tuple[str, bytes]) -> None:
    name, content = case
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"{name}.toml"
        path.write_bytes(content)
        try:
            config = load_environment(name, Path(directory))
        except ConfigError as error:
            assert_readable(error, str(path))
        else:
            assert isinstance(config, EnvironmentConfig)


def test_a_directory_where_the_file_should_be_is_named(tmp_path: Path) -> None:
    (tmp_path / "dev.toml").mkdir()
    with pytest.raises(ConfigError, match=r"dev.toml: is a directory; expected a TOML file"):
        load_environment("dev", tmp_path)


def test_a_file_that_is_not_utf8_is_named_with_the_line(tmp_path: Path) -> None:
    text = (CONFIG_DIR / "dev.toml").read_text(encoding="utf-8").replace("platform-team", "plataforma-é")
    (tmp_path / "dev.toml").write_bytes(text.encode("latin-1"))
    line = next(n for n, text in enumerate(text.splitlines(), start=1) if "plataforma" in text)
    with pytest.raises(
        ConfigError, match=rf"dev.toml: not UTF-8 text \(byte 0xe9 at line {line}\); save the file as UTF-8"
    ):
        load_environment("dev", tmp_path)


# --- tags: any text AWS's general rule allows is accepted or refused by name --------------------------
#: AWS's general tag rule (spaces narrowed to Zs, as the config schema does): letters, digits, spaces, _ . : / = + - @
GENERAL_TAG = regex.compile(r"[\p{L}\p{Zs}\p{N}_.:/=+\-@]+")
#: Letters of the languages the teams write, then everything else the general rule allows, then a few it does not.
ALLOWED_TAG_CHARACTERS = st.one_of(
    st.sampled_from(list("결제팀운영Équipeжп漢字あア٣\u0661 ")),
    st.characters(categories=("L", "N", "Zs"), codec="utf-8"),
    st.sampled_from(list("_.:/=+-@")),
)
TAG_ALPHABET = st.one_of(ALLOWED_TAG_CHARACTERS, st.sampled_from(list("!#\t\u200b")))


def tag_texts(lengths: tuple[int, ...]) -> st.SearchStrategy[str]:
    """Text of the tag alphabet, short or close to one of `lengths` (the limits some resource kinds have)."""
    return st.one_of(
        st.text(TAG_ALPHABET, min_size=1, max_size=12),
        st.sampled_from(lengths).flatmap(
            lambda n: st.text(TAG_ALPHABET, min_size=max(n - 2, 1), max_size=n + 2).filter(lambda t: t.strip())
        ),
    )


def refusals(tags: dict[str, str], key: str, value: str) -> list[str]:
    """What the config schema must say about `key = value` among `tags`, worked out from AWS's rule and the
    resource schemas' own patterns (searched as cfn-lint does), not from the schema's code: empty when accepted."""
    found = []
    if key.lower() in {k.lower() for k in RESERVED_TAG_KEYS}:
        found.append("the key is set by the app itself")
    for part, text, high in (("key", key, 128), ("value", value, 256)):
        if text.lower().startswith("aws:"):
            found.append(f"the aws: prefix is reserved by AWS in tag {part}s")
        elif not 1 <= len(text) <= high:
            found.append(f"a tag {part} is 1 to {high} characters long")
        elif not GENERAL_TAG.fullmatch(text):
            found.append("is not allowed: tags may hold letters, digits, spaces and _ . : / = + - @")
    for resource_type, rules in NARROW_TAG_RULES.items():
        if resource_type in TAGS_LEFT_OFF:
            continue
        for rule in rules:
            if not (
                (rule.key_pattern is None or regex.search(rule.key_pattern, key))
                and (rule.value_pattern is None or regex.search(rule.value_pattern, value))
                and rule.key_length[0] <= len(key) <= rule.key_length[1]
                and rule.value_length[0] <= len(value) <= rule.value_length[1]
            ):
                found.append(f"{resource_type} accepts tag")
    if any(k != key and k.lower() == key.lower() for k in tags):
        found.append("except for case")
    if key == "Protected":
        found.append("is cost.unused.protection_tag")
    return found


@settings(max_examples=600, deadline=None)
@given(
    name=st.sampled_from(ENVIRONMENT_NAMES),
    which=st.sampled_from(["CostCenter", "Owner", "new"]),
    key=tag_texts((127, 128)),
    value=tag_texts((128, 255, 256)),
)
def test_any_tag_is_accepted_exactly_when_every_billed_resource_kind_can_carry_it(
    name: str, which: str, key: str, value: str
) -> None:
    """A tag in Hangul or any other script, or with any character AWS's general rule allows, is accepted when
    every resource kind that must carry every tag (all but platform_constructs.tag_rules.TAGS_LEFT_OFF) accepts
    it in every region, and refused otherwise with a message naming the key and what is allowed."""
    data = copy.deepcopy(BASES[name])
    key = key if which == "new" else which
    assume(which != "new" or key not in data["tags"])
    data["tags"][key] = value
    expected = refusals(data["tags"], key, value)
    problems: list[str] = []
    try:
        validate_environment(data, source=f"{name}.toml", expected_name=name)
    except ConfigError as error:
        assert_readable(error, f"{name}.toml")
        problems = list(error.problems)
    if not expected:
        assert problems == [], "refused although AWS and every billed resource kind accept it"
        return
    named = [p for p in problems if p.startswith(f"{name}.toml: tags.{visible_key(key)} = ")]
    assert named, (f"accepted, but {expected}", problems)
    assert any(fragment in problem for fragment in expected for problem in named), (expected, named)


def visible_key(key: str) -> str:
    """The key as a config error's key path writes it."""
    from config.fields import key_path

    return key_path(("tags", key)).removeprefix("tags.")


# --- accepted configs synthesise cleanly (slow tier) ---------------------------------------------
REGIONS_TO_TRY = ("ap-northeast-2", "us-east-1", "eu-west-1", "ap-southeast-1")


@st.composite
def valid_configs(draw: st.DrawFn) -> EnvironmentConfig:
    """Configs drawn across the schema's allowed values (not only the committed ones)."""
    name = draw(st.sampled_from(ENVIRONMENT_NAMES))
    data = copy.deepcopy(BASES[name])
    prod = name == "prod"
    region = draw(st.sampled_from(REGIONS_TO_TRY))
    zones = draw(st.lists(st.sampled_from(ZONES_BY_REGION[region]), min_size=2, max_size=4, unique=True))
    db_classes = sorted(c for c in postgres_instance_classes(region) if c.split(".")[1] in DB_INSTANCE_FAMILIES)
    node_types = sorted(c for c in cache_node_types(region) if c.split(".")[1] in CACHE_NODE_FAMILIES)
    allocated = draw(st.integers(min_value=20, max_value=2000))
    data.update(region=region, availability_zones=zones)
    data["network"].update(
        vpc_cidr=draw(st.sampled_from(["10.40.0.0/16", "172.16.0.0/17", "192.168.0.0/16", "10.50.0.0/18"])),
        nat_gateways=len(zones) if prod else draw(st.integers(min_value=1, max_value=len(zones))),
        flow_log_retention_days=draw(st.sampled_from(LOG_RETENTION_DAYS)),
    )
    data["database"].update(
        instance_class=draw(st.sampled_from(db_classes)),
        replica_instance_class=draw(st.sampled_from(db_classes)),
        read_replicas=draw(st.integers(min_value=2 if prod else 0, max_value=5)),
        multi_az=True if prod else draw(st.booleans()),
        deletion_protection=True if prod else draw(st.booleans()),
        allocated_storage_gib=allocated,
        max_allocated_storage_gib=draw(st.integers(min_value=-(-allocated * 11 // 10), max_value=65536)),
        backup_retention_days=draw(st.integers(min_value=1, max_value=35)),
        slow_query_threshold_ms=draw(st.integers(min_value=0, max_value=3_600_000)),
        credential_rotation_days=draw(st.integers(min_value=1, max_value=365)),
        log_retention_days=draw(st.sampled_from(LOG_RETENTION_DAYS)),
        engine_version=draw(st.sampled_from(["16", "17", "18", "16.13", "17.9", "18.3"])),
    )
    data["cache"].update(
        engine=draw(st.sampled_from(["valkey", "redis"])),
        node_type=draw(st.sampled_from(node_types)),
        replicas=draw(st.integers(min_value=1, max_value=5)),
        multi_az=True if prod else draw(st.booleans()),
        snapshot_retention_days=draw(st.integers(min_value=15, max_value=35)),
        log_retention_days=draw(st.sampled_from(LOG_RETENTION_DAYS)),
    )
    engine = data["cache"]["engine"]
    data["cache"]["engine_version"] = draw(st.sampled_from([None, *CACHE_ENGINE_VERSIONS[engine]]))
    if data["cache"]["engine_version"] is None:
        del data["cache"]["engine_version"]
    # the services tier: capacity, scaling, schedules, images (running services) and the load balancer
    max_tasks = draw(st.integers(min_value=2, max_value=100))
    data["compute"].update(
        spot_percent=draw(st.integers(min_value=0, max_value=100)),
        on_demand_base=draw(st.integers(min_value=1 if prod else 0, max_value=max_tasks)),
        min_tasks=draw(st.integers(min_value=2 if prod else 0, max_value=max_tasks)),
        max_tasks=max_tasks,
        scaling={
            "cpu_target_percent": draw(st.integers(min_value=10, max_value=95)),
            "memory_target_percent": draw(st.integers(min_value=10, max_value=95)),
            "scale_in_cooldown_seconds": draw(st.integers(min_value=0, max_value=3600)),
            "scale_out_cooldown_seconds": draw(st.integers(min_value=0, max_value=3600)),
        },
    )
    if not prod:
        data["compute"]["night_scaling"] = draw(
            st.sampled_from([{}, {"weekends": "running", "stop_at": "23:30", "start_at": "06:15", "time_zone": "UTC"}])
        )
    # tags as teams write them: Hangul and other scripts, and any text AWS's general rule allows
    data["tags"] = {
        "CostCenter": draw(st.sampled_from(["결제-2026", "ticketing-dev", "Plateforme É/1", "支払い:2026"])),
        "Owner": draw(st.sampled_from(["결제팀", "Équipe paiement", "Платёжная команда", "فريق الدفع", "@team_a+b=c"])),
        **draw(
            st.dictionaries(
                st.text(ALLOWED_TAG_CHARACTERS, min_size=1, max_size=20).filter(lambda k: k.strip() == k),
                st.text(ALLOWED_TAG_CHARACTERS, min_size=1, max_size=40),
                max_size=2,
            )
        ),
    }
    services = sorted(load_services())
    data["images"] = {name: "1.2.3" for name in draw(st.lists(st.sampled_from(services), unique=True))}
    data["load_balancer"]["certificate_arn"] = (
        f"arn:aws:acm:{region}:{data['account']}:certificate/00000000-0000-4000-8000-000000000000"
    )
    try:
        return validate_environment(data, source=f"{name}.toml", expected_name=name)
    except ConfigError:
        assume(False)
        raise


@pytest.mark.slow
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(valid_configs())
def test_accepted_configs_synthesise_cleanly(config: EnvironmentConfig) -> None:
    from stacks.compliance import synthesize
    from stacks.platform_app import build_app, feature_flags, new_app

    with tempfile.TemporaryDirectory() as outdir:
        synthesize(build_app([config], new_app(outdir=outdir, context=feature_flags())))
