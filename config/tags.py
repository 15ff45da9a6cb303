"""Config of the cost-allocation tags every resource carries: `tags`.

A configured tag goes on every resource that is billed, next to the tags the app sets itself, so it must
fit AWS's general tag rule, the narrower rules of each resource kind (platform_constructs.tag_rules) and
the 50 tags a resource may carry. That the finder's protection tag is not among them is a rule across
`tags` and `[cost]` (config/rules.py).
"""

from __future__ import annotations

import unicodedata

from config.fields import ConfigFieldError, key_path, raise_all, visible
from platform_constructs.limits import Limit
from platform_constructs.tag_rules import required_tag_problems

#: Tags the code sets itself (on every resource; the Commitment* tags on steady-state resources); config
#: may not override them.
RESERVED_TAG_KEYS = frozenset({"Project", "Environment", "ManagedBy", "Commitment", "CommitmentTerm", "CommitmentSize"})
#: Tags every environment file must provide.
REQUIRED_TAG_KEYS = ("CostCenter", "Owner")
#: AWS's limit of tags per resource, counting every tag on it.
MAX_TAGS_PER_RESOURCE = 50
#: Tags aws-cdk-lib adds to some resources itself: Name, aws-cdk:subnet-name and aws-cdk:subnet-type on
#: subnets (tests/test_tags.py checks that no resource carries more tags than this allows for).
CDK_ADDED_TAGS = 3
#: Most tags the app sets on one resource: the three on every resource, the three Commitment* tags and
#: the protection tag (a database instance carries all seven); aws-cdk-lib's three go on subnets only,
#: which carry no commitment or protection tag.
APP_TAGS_PER_RESOURCE = max(len(RESERVED_TAG_KEYS) + 1, 3 + CDK_ADDED_TAGS)
#: Tags an environment file may set: what is left of AWS's 50 after the app's own.
MAX_CONFIG_TAGS = MAX_TAGS_PER_RESOURCE - APP_TAGS_PER_RESOURCE
#: Tag key and value lengths AWS accepts (values: this platform also refuses empty ones).
TAG_KEY_LENGTH = Limit(1, 128, "characters")
TAG_VALUE_LENGTH = Limit(1, 256, "characters")
#: Besides letters, digits and spaces, the only characters AWS allows in tags.
TAG_PUNCTUATION = "_.:/=+-@"


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    """`tags` if every key and value is one AWS accepts on every billed resource kind, the required keys are
    there and the app's own tags still fit; else every problem, each naming its tag."""
    problems: list[ConfigFieldError] = []
    seen: dict[str, str] = {}
    for key, value in tags.items():
        try:
            _check_tag(key, value)
        except ValueError as error:
            problems.append(ConfigFieldError(key_path(("tags", key)), value, str(error)))
            continue
        earlier = seen.setdefault(key.lower(), key)
        if earlier != key:
            problems.append(
                ConfigFieldError(
                    key_path(("tags", key)),
                    value,
                    f"same key as {visible(earlier)!s} except for case; IAM treats tag keys case-insensitively "
                    "and refuses both on one role: keep one",
                )
            )
    raise_all(problems)
    missing = [key for key in REQUIRED_TAG_KEYS if key not in tags]
    if missing:
        raise ValueError(f"missing required tag(s) {missing}; every environment sets {list(REQUIRED_TAG_KEYS)}")
    if len(tags) > MAX_CONFIG_TAGS:
        raise ValueError(
            f"at most {MAX_CONFIG_TAGS} tags, got {len(tags)}: AWS allows {MAX_TAGS_PER_RESOURCE} per resource and "
            f"the app adds up to {MAX_TAGS_PER_RESOURCE - MAX_CONFIG_TAGS} of its own "
            f"({', '.join(sorted(RESERVED_TAG_KEYS))}, and Name plus two aws-cdk: tags on subnets)"
        )
    return tags


def _tag_character_problem(text: str) -> str | None:
    for char in text:
        if char in TAG_PUNCTUATION or unicodedata.category(char)[0] in "LN" or unicodedata.category(char) == "Zs":
            continue
        name = unicodedata.name(char, "a control character") if not char.isprintable() else repr(char)
        return (
            f"character {ascii(char)[1:-1]} ({name}) is not allowed: tags may hold letters, digits, spaces and "
            f"{' '.join(TAG_PUNCTUATION)}"
        )
    return None


def _check_tag(key: str, value: str) -> None:
    reserved = {k.lower(): k for k in RESERVED_TAG_KEYS}
    if key.lower() in reserved:
        raise ValueError(
            f"the key is set by the app itself ({reserved[key.lower()]}; IAM compares tag keys without case): "
            f"remove it (reserved: {', '.join(sorted(RESERVED_TAG_KEYS))})"
        )
    for part, text, length in (("key", key, TAG_KEY_LENGTH), ("value", value, TAG_VALUE_LENGTH)):
        if text.lower().startswith("aws:"):
            raise ValueError(f"the aws: prefix is reserved by AWS in tag {part}s")
        if len(text) not in length:
            raise ValueError(f"a tag {part} is {length.describe()} long, got {len(text)}")
        problem = _tag_character_problem(text)
        if problem:
            raise ValueError(f"{part} '{visible(text)}': {problem}")
    narrower = required_tag_problems(key, value)
    if narrower:
        raise ValueError(
            f"{'; '.join(narrower)} (CloudFormation's schema for that type); every configured tag goes on "
            "every resource that is billed, so it must fit each of them"
        )
