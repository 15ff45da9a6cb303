"""Tag rules narrower than AWS's general one, per resource type this app creates, and what the app does about each.

AWS's general tag rule: keys of 1 to 128 and values of 0 to 256 characters, each of Unicode letters, digits,
spaces and `_ . : / = + - @` (`^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$`). Some resource types' CloudFormation
schemas are narrower: ElastiCache users and user groups allow ASCII only, a container repository 127/255
characters, an RDS Proxy values of at most 128. CloudFormation refuses a stack that breaks them, so a tag the
config schema accepted would fail the deploy (and synthesis, whose validation plugin applies the same schemas).

`NARROW_TAG_RULES` is generated from cfn-lint's bundled CloudFormation schemas (every region; a tag must fit
every region's rule) for the resource types the app's environments create: `python -m tools.tag_rules --write`
rewrites the block; tests/test_tags.py regenerates it and fails when it differs.

What the app does per kind (`TAGS_LEFT_OFF`): a resource that costs nothing (a cache user, the cache user group)
gets only the tags it can carry; on every other kind each configured tag must fit, and the config schema refuses
one that does not, naming the key, the resource type and what it allows. Cost allocation needs every tag on
everything that costs money, so nothing that is billed silently loses one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import regex

#: Resource kinds that get only the tags their schema allows (the others' tags are refused in the config
#: schema): type -> why leaving a tag off is harmless there.
TAGS_LEFT_OFF: Mapping[str, str] = {
    "AWS::ElastiCache::User": "a cache user is not billed, so no cost report needs its tags",
    "AWS::ElastiCache::UserGroup": "a cache user group is not billed, so no cost report needs its tags",
}

#: Characters tried to describe what a pattern allows (every printable ASCII character, then samples of
#: letters, digits and spaces outside ASCII).
_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
_NON_ASCII = {
    "letters": "\u00e9\u00df\u0416\u03a9\uac00\u6f22\u3042",
    "digits": "\uff11\u0663",
    "spaces": "\u00a0\u3000",
}


@dataclass(frozen=True)
class TagRule:
    """One region's tag rule for a resource type: JSON-schema patterns (searched, not anchored, as
    CloudFormation and cfn-lint apply them; None: any text) and length bounds in characters."""

    key_pattern: str | None
    value_pattern: str | None
    key_length: tuple[int, int]
    value_length: tuple[int, int]

    def problem(self, part: str, text: str) -> str | None:
        """Why `text` cannot be this rule's tag `part` ("key" or "value"), None when it can."""
        pattern, (low, high) = (
            (self.key_pattern, self.key_length) if part == "key" else (self.value_pattern, self.value_length)
        )
        if not low <= len(text) <= high:
            return f"tag {part}s of {low} to {high} characters, got {len(text)}"
        if pattern is not None and _compiled(pattern).search(text) is None:
            return f"tag {part}s of {describe(pattern)} (pattern {pattern})"
        return None


@functools.cache
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


@functools.cache
def describe(pattern: str) -> str:
    """What a pattern allows, in words: the ASCII characters it accepts alone, and whether it accepts
    letters, digits and spaces outside ASCII."""
    compiled = _compiled(pattern)

    def accepts(char: str) -> bool:
        return compiled.search(char) is not None

    parts = []
    for name, chars in (
        ("letters a-z A-Z", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        ("digits 0-9", "0123456789"),
    ):
        if all(accepts(c) for c in chars):
            parts.append(name)
    if accepts(" "):
        parts.append("spaces")
    punctuation = [c for c in _ASCII if not c.isalnum() and c != " " and accepts(c)]
    if punctuation:
        parts.append(" ".join(punctuation))
    outside = [name for name, chars in _NON_ASCII.items() if all(accepts(c) for c in chars)]
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + (parts[-1] if parts else "nothing")
    return f"{listed}, {' and '.join(outside)} outside ASCII" if outside else f"{listed} only, nothing outside ASCII"


def tag_problems(resource_type: str, key: str, value: str) -> list[str]:
    """Why the tag `key = value` cannot go on `resource_type` in some region (empty: it can anywhere)."""
    problems = []
    for rule in NARROW_TAG_RULES.get(resource_type, ()):
        for part, text in (("key", key), ("value", value)):
            problem = rule.problem(part, text)
            if problem and problem not in problems:
                problems.append(problem)
    return problems


def types_refusing(key: str, value: str) -> list[str]:
    """The resource types among NARROW_TAG_RULES that cannot carry `key = value`."""
    return sorted(t for t in NARROW_TAG_RULES if tag_problems(t, key, value))


def required_tag_problems(key: str, value: str) -> list[str]:
    """Why `key = value` cannot be a configured tag: the kinds that must carry every tag and cannot carry
    this one, each with what it allows (empty: fine)."""
    return [
        f"{resource_type} accepts {' and '.join(tag_problems(resource_type, key, value))}"
        for resource_type in types_refusing(key, value)
        if resource_type not in TAGS_LEFT_OFF
    ]


def key_problems(key: str) -> list[str]:
    """Why `key` cannot be a tag key on some resource kind, whether or not that kind may go without tags."""
    problems: list[str] = []
    for resource_type, rules in sorted(NARROW_TAG_RULES.items()):
        for rule in rules:
            problem = rule.problem("key", key)
            if problem and f"{resource_type} accepts {problem}" not in problems:
                problems.append(f"{resource_type} accepts {problem}")
    return problems


# --- generated by `python -m tools.tag_rules --write` from cfn-lint's schemas; do not edit by hand ---
NARROW_TAG_RULES: dict[str, tuple[TagRule, ...]] = {
    "AWS::ECR::Repository": (
        TagRule(
            key_pattern=None,
            value_pattern=None,
            key_length=(1, 127),
            value_length=(1, 255),
        ),
    ),
    "AWS::ElastiCache::User": (
        TagRule(
            key_pattern="^(?!aws:)[a-zA-Z0-9 _\\.\\/=+:\\-@]*$",
            value_pattern="^[a-zA-Z0-9 _\\.\\/=+:\\-@]*$",
            key_length=(1, 128),
            value_length=(0, 256),
        ),
    ),
    "AWS::ElastiCache::UserGroup": (
        TagRule(
            key_pattern="^(?!aws:)[a-zA-Z0-9 _\\.\\/=+:\\-@]*$",
            value_pattern="^[a-zA-Z0-9 _\\.\\/=+:\\-@]*$",
            key_length=(1, 128),
            value_length=(0, 256),
        ),
    ),
    "AWS::RDS::DBProxy": (
        TagRule(
            key_pattern="(\\w|\\d|\\s|\\\\|-|\\.:=+-)*",
            value_pattern="(\\w|\\d|\\s|\\\\|-|\\.:=+-)*",
            key_length=(1, 128),
            value_length=(0, 128),
        ),
    ),
}
# --- end of generated block ---
