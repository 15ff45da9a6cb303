"""The Service Quotas codes of `make preflight`: well formed, documented, and the Deploy page's table equal to them.

The codes were checked against AWS's quota pages and public Service Quotas listings (the sources are in
`tools/preflight/quotas.py`); this keeps docs/deploy.md's table, the module's table and the constants from
drifting apart when one of them changes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.preflight import quotas
from tools.preflight.quotas import ServiceQuota

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"^L-[0-9A-F]{8}$")


def constants() -> dict[str, ServiceQuota]:
    return {name: value for name, value in vars(quotas).items() if isinstance(value, ServiceQuota)}


def readme_rows() -> dict[tuple[str, str | None], str]:
    """(service code, quota code or None) -> AWS's name, from the table in docs/deploy.md's "## Preflight"."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = text.split("## Preflight", 1)[1].split("\n## ", 1)[0]
    header = "| Service code | Quota code | AWS's name |"
    assert header in section, "docs/deploy.md's Preflight section has the quota code table"
    rows: dict[tuple[str, str | None], str] = {}
    for line in section.split(header, 1)[1].splitlines()[2:]:
        if not line.startswith("|"):
            break
        service, code, name = (cell.strip().strip("`") for cell in line.strip("|").split("|")[:3])
        rows[(service, None if code == "none" else code)] = name
    return rows


def test_the_module_defines_the_quotas_the_checks_use() -> None:
    assert set(constants()) >= {
        "LAMBDA_CONCURRENCY",
        "ELASTIC_IPS",
        "RDS_INSTANCES",
        "CACHE_NODES",
        "FARGATE_ON_DEMAND",
        "FARGATE_SPOT",
        "VPCS",
        "LOAD_BALANCERS",
        "TARGET_GROUPS",
        "CLOUDFRONT_WEB_ACLS",
        "DISTRIBUTIONS",
    }


@pytest.mark.parametrize("constant", sorted(constants()))
def test_each_quota_is_named_and_documented(constant: str) -> None:
    quota = constants()[constant]
    assert quota.code is None or CODE.match(quota.code), f"{constant}: {quota.code} is not a Service Quotas code"
    assert quota.name, f"{constant} names the quota as AWS does"
    assert quota.docs.startswith("https://docs.aws.amazon.com/"), f"{constant} links AWS's page for the quota"
    assert quota.name_words, f"{constant} has words to find it by name"
    assert all(word == word.lower() for word in quota.name_words), (
        f"{constant}: the name words are matched against a lower-cased quota name"
    )
    if quota.code is not None:
        assert all(word in quota.name.lower() for word in quota.name_words), (
            f"{constant}: the by-name fallback would not find '{quota.name}' itself"
        )


def test_the_readme_table_lists_every_code_with_its_name() -> None:
    expected = {(q.service, q.code): q.name for q in constants().values()}
    assert readme_rows() == expected


def test_the_module_table_names_every_code() -> None:
    source = Path(quotas.__file__).read_text(encoding="utf-8")
    for quota in constants().values():
        if quota.code is not None:
            assert re.search(
                rf"#\s+(?:{re.escape(quota.service)}\s+)?{quota.code}\s+\"{re.escape(quota.name)}\"", source
            ), f'the comment table of quotas.py lists {quota.service} {quota.code} "{quota.name}"'


def test_the_link_names_the_code_or_the_service() -> None:
    for quota in constants().values():
        link = quota.link("us-east-1")
        assert f"/services/{quota.service}/quotas" in link
        assert link.endswith("region=us-east-1")
        assert quota.code is None or f"/quotas/{quota.code}?" in link
