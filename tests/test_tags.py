"""Every taggable resource of every environment carries the five required tags; tags a resource kind's
CloudFormation schema cannot take are refused in the config or left off that kind (platform_constructs.tag_rules)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import regex
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from hypothesis import given, settings, strategies as st

from config import CONFIG_DIR, ENVIRONMENT_NAMES
from config.loader import validate_environment
from platform_constructs.tag_rules import NARROW_TAG_RULES, TAGS_LEFT_OFF, tag_problems
from platform_constructs.tagging import UNTAGGABLE_TYPES, apply_tags
from tests.conftest import SynthesizedEnvironment

REQUIRED = ("Project", "Environment", "CostCenter", "Owner", "ManagedBy")


def is_taggable(resource_type: str, region: str) -> bool:
    """Whether CloudFormation's own resource schema (as shipped with cfn-lint) has a Tags property.

    UNTAGGABLE_TYPES are the exceptions where CloudFormation's deploy-time validation (aws-cdk-lib's
    built-in validator) rejects Tags although the schema lists them.
    """
    if resource_type.startswith("Custom::") or resource_type == "AWS::CDK::Metadata":
        return False
    if resource_type in UNTAGGABLE_TYPES:
        return False
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    return "Tags" in schema.get("properties", {})


def tag_map(tags: Any) -> dict[str, str]:
    if isinstance(tags, list):
        return {t["Key"]: t["Value"] for t in tags}
    return dict(tags or {})


def test_every_taggable_resource_has_the_required_tags(env: SynthesizedEnvironment) -> None:
    expected = {
        "Project": "ticketing",
        "Environment": env.config.name,
        "ManagedBy": "aws-cdk",
        "CostCenter": env.config.tags["CostCenter"],
        "Owner": env.config.tags["Owner"],
    }
    checked = 0
    untagged = []
    for stack in env.stacks:
        for logical_id, resource in env.template_json(stack.node.id)["Resources"].items():
            if not is_taggable(resource["Type"], env.config.region):
                continue
            checked += 1
            tags = tag_map(resource.get("Properties", {}).get("Tags"))
            wrong = {k: tags.get(k) for k in REQUIRED if tags.get(k) != expected[k]}
            if wrong:
                untagged.append(f"{stack.node.id}/{logical_id} ({resource['Type']}): {wrong}")
    assert checked > 20  # the walk is not vacuous
    assert untagged == []


def test_no_resource_can_exceed_awss_50_tags(env: SynthesizedEnvironment) -> None:
    """The schema leaves room for every tag the app and aws-cdk-lib add (MAX_CONFIG_TAGS)."""
    from config.schema import MAX_CONFIG_TAGS, MAX_TAGS_PER_RESOURCE

    for stack in env.stacks:
        for logical_id, resource in env.template_json(stack.node.id)["Resources"].items():
            tags = resource.get("Properties", {}).get("Tags")
            if not isinstance(tags, list):
                continue
            added = [t["Key"] for t in tags if isinstance(t, dict) and t.get("Key") not in env.config.tags]
            assert len(added) <= MAX_TAGS_PER_RESOURCE - MAX_CONFIG_TAGS, (logical_id, added)


# --- tags a resource kind's schema is narrower for -------------------------------------------------------
def test_every_tag_fits_the_rule_of_its_resource_kind(env: SynthesizedEnvironment) -> None:
    """Whoever set it (config, the commitment or protection aspects, aws-cdk-lib), every tag fits its kind."""
    wrong = []
    for stack in env.stacks:
        for logical_id, resource in env.template_json(stack.node.id)["Resources"].items():
            tags = resource.get("Properties", {}).get("Tags")
            if resource["Type"] not in NARROW_TAG_RULES or not isinstance(tags, list):
                continue
            for tag in tags:
                if isinstance(tag.get("Value"), str) and tag_problems(resource["Type"], tag["Key"], tag["Value"]):
                    wrong.append(f"{stack.node.id}/{logical_id}: {tag}")
    assert wrong == []


def test_the_narrow_tag_rules_are_what_cfn_lints_schemas_say(platform: Callable[[str], SynthesizedEnvironment]) -> None:
    """The committed block in tag_rules.py equals what tools/tag_rules.py derives from cfn-lint's schemas (every
    region) for the resource types the three environments create."""
    from tools.tag_rules import MODULE, committed_block, derive, render, template_types

    types = template_types(f for name in ENVIRONMENT_NAMES for f in platform(name).template_files())
    expected = render(derive(types))
    assert committed_block(MODULE.read_text(encoding="utf-8")) == expected, (
        "a resource type's tag rules changed (a new type, or a new cfn-lint): run "
        "`make synth OUT=cdk.out.tags` then `.venv/bin/python -m tools.tag_rules cdk.out.tags --write`, and decide "
        "for each new type in platform_constructs.tag_rules (TAGS_LEFT_OFF or refused in the config schema)"
    )
    assert "AWS::ElastiCache::User" in NARROW_TAG_RULES  # the derivation finds the case that showed the class


def test_the_tool_prints_the_block_for_an_assembly(
    platform: Callable[[str], SynthesizedEnvironment], capsys: pytest.CaptureFixture[str]
) -> None:
    from tools.tag_rules import derive, main, render, template_types

    env = platform("dev")
    assert main([str(env.outdir)]) == 0
    assert capsys.readouterr().out == render(derive(template_types(env.template_files())))
    assert main([str(env.outdir / "no-such-dir")]) == 2
    assert "synthesise every environment first" in capsys.readouterr().out


def test_every_kind_left_without_tags_is_a_narrow_kind() -> None:
    """A decision for a kind that is no longer narrow (or no longer created) is stale."""
    assert set(TAGS_LEFT_OFF) <= set(NARROW_TAG_RULES)


GENERAL_TAG_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(categories=("L", "N", "Zs"), codec="utf-8"), st.sampled_from(list("_.:/=+-@결제팀ÉЖ漢٣\u3000"))
    ),
    min_size=1,
    max_size=60,
).filter(lambda text: not text.lower().startswith("aws:"))  # the config refuses AWS's reserved prefix (config/tags.py)


@settings(max_examples=300, deadline=None)
@given(GENERAL_TAG_TEXT)
def test_the_patterns_counted_as_general_accept_whatever_the_config_accepts(text: str) -> None:
    """tools/tag_rules.py leaves a type out when its patterns are AWS's general ones: each of them must accept
    every text of letters, digits, spaces and _ . : / = + - @ (what the config schema lets through)."""
    from tools.tag_rules import GENERAL_PATTERNS

    for pattern in GENERAL_PATTERNS - {None}:
        assert regex.search(str(pattern), text), (pattern, text)


@given(key=GENERAL_TAG_TEXT, value=GENERAL_TAG_TEXT)
def test_a_tag_goes_wherever_the_schema_pattern_allows_it(key: str, value: str) -> None:
    """tag_problems agrees with the schema's own patterns, searched as cfn-lint does."""
    for resource_type, rules in NARROW_TAG_RULES.items():
        fits = all(
            (rule.key_pattern is None or regex.search(rule.key_pattern, key))
            and (rule.value_pattern is None or regex.search(rule.value_pattern, value))
            and rule.key_length[0] <= len(key) <= rule.key_length[1]
            and rule.value_length[0] <= len(value) <= rule.value_length[1]
            for rule in rules
        )
        assert (tag_problems(resource_type, key, value) == []) == fits, (resource_type, key, value)


def test_a_rule_is_described_in_words() -> None:
    """Messages say what a pattern allows, not only the pattern."""
    from platform_constructs.tag_rules import describe
    from tools.tag_rules import GENERAL_PATTERNS

    (cache_user,) = NARROW_TAG_RULES["AWS::ElastiCache::User"]
    assert describe(str(cache_user.value_pattern)) == (
        "letters a-z A-Z, digits 0-9, spaces and + - . / : = @ _ only, nothing outside ASCII"
    )
    for pattern in GENERAL_PATTERNS - {None}:
        assert describe(str(pattern)).endswith("letters and digits and spaces outside ASCII"), pattern


def test_apply_tags_refuses_a_tag_a_billed_kind_cannot_carry() -> None:
    """The config schema refuses it first; a caller that skips the schema gets the same reason, nothing built."""
    from aws_cdk import App, Stack, aws_ecr as ecr

    stack = Stack(App(), "S")
    ecr.Repository(stack, "Repo")
    with pytest.raises(ValueError, match=r"tag 'k{128}': AWS::ECR::Repository accepts tag keys of 1 to 127"):
        apply_tags(stack, {"k" * 128: "v"})


HANGUL_TAGS = {"CostCenter": "결제-2026", "Owner": "결제팀", "팀": "Équipe paiement Ж"}


@pytest.mark.slow
def test_tags_a_kind_cannot_carry_are_left_off_it_and_only_it(tmp_path: Path) -> None:
    """Hangul and other non-ASCII tags synthesise (synthesis validates every template against CloudFormation's
    schemas); the cache users and user group carry the tags that fit them, every other taggable resource all."""
    from stacks.compliance import synthesize
    from stacks.platform_app import build_app, feature_flags, new_app

    data = tomllib.loads((CONFIG_DIR / "dev.toml").read_text(encoding="utf-8"))
    data["tags"] = dict(HANGUL_TAGS)
    config = validate_environment(data, source="dev.toml", expected_name="dev")
    app = build_app([config], new_app(outdir=str(tmp_path), context=feature_flags()))
    synthesize(app)  # raises on any finding, CloudFormation schema validation (cfn-lint) included
    left_off_seen = 0
    checked = 0
    for template in sorted(tmp_path.rglob("*.template.json")):
        for logical_id, resource in json.loads(template.read_text(encoding="utf-8"))["Resources"].items():
            if not is_taggable(resource["Type"], config.region):
                continue
            checked += 1
            tags = tag_map(resource.get("Properties", {}).get("Tags"))
            configured = {k: v for k, v in tags.items() if k in HANGUL_TAGS}
            if resource["Type"] in TAGS_LEFT_OFF:
                left_off_seen += 1
                assert configured == {}, (logical_id, configured)  # none of these three is ASCII
                assert tags.get("Project") == "ticketing", logical_id  # the ones that fit stay
            else:
                assert configured == HANGUL_TAGS, (template.name, logical_id, resource["Type"])
    assert left_off_seen >= 2
    assert checked > 20


@pytest.mark.slow  # the cdk CLI and app.py in subprocesses, as a user runs them
def test_the_cli_refuses_a_tag_a_billed_kind_cannot_carry_and_writes_nothing(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    text = (CONFIG_DIR / "dev.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^CostCenter = ".*"$', 'CostCenter = "' + "x" * 129 + '"', text)
    text = re.sub(r'(?m)^Owner = ".*"$', 'Owner = "결제팀"', text)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "dev.toml").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(PATH=f"{root / '.venv' / 'bin'}:{env.get('PATH', '')}", AWS_EC2_METADATA_DISABLED="true")
    result = subprocess.run(
        [str(root / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "--no-notices", "--output", str(out),
         "-c", f"config_dir={tmp_path / 'config'}", "-c", "env=dev"],
        cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "tags.CostCenter = " in output, output
    assert "AWS::RDS::DBProxy accepts tag values of 0 to 128 characters, got 129" in output, output
    assert "Owner" not in output  # the Hangul one is fine: the cache users go without it
    assert "Traceback" not in output
    assert not out.exists() or not list(out.rglob("*.template.json")), "templates written for a refused config"
