"""The functions' assets: what ships, the hash that names it, and how a bundle is made."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from stacks import lambda_code
from stacks.lambda_code import DEPENDENCIES_DIR, LAMBDA_DIR, content_hash, shipped_files
from tests.conftest import SynthesizedEnvironment

NEVER_SHIPPED = ("__pycache__", ".pyc", "RECORD", "INSTALLER", "direct_url.json", "requirements.txt")


def staged_assets(env: SynthesizedEnvironment, stack: str) -> dict[str, Path]:
    """Function logical ID -> its staged asset folder, for the functions of `lambda/` (Python; aws-cdk-lib's
    own functions, such as the provider framework's in Node.js, ship the library's code)."""
    resources = env.template_json(stack)["Resources"]
    return {
        logical_id: env.outdir / f"asset.{resource['Properties']['Code']['S3Key'].removesuffix('.zip')}"
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::Function"
        and "S3Key" in resource["Properties"].get("Code", {})
        and resource["Properties"]["Runtime"].startswith("python")
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_database_function_ships_its_code_the_shared_package_and_the_installed_dependencies() -> None:
    files = shipped_files("database_bootstrap", packages=True)
    assert files["index.py"] == LAMBDA_DIR / "database_bootstrap" / "index.py"
    assert files["pg_common/rds-ca-bundle.pem"] == LAMBDA_DIR / "pg_common" / "rds-ca-bundle.pem"
    assert files["pg8000/__init__.py"] == DEPENDENCIES_DIR / "pg8000" / "__init__.py"
    assert "six.py" in files  # a top-level module, not a folder
    assert not [name for name in files if any(part in name for part in NEVER_SHIPPED)]
    assert not [name for name in files if name.startswith("bin/")]
    assert shipped_files("commitment_coverage", packages=False) == {
        "index.py": LAMBDA_DIR / "commitment_coverage" / "index.py"
    }


def test_every_staged_asset_holds_exactly_what_ships(env: SynthesizedEnvironment) -> None:
    staged = staged_assets(env, "Data")
    assert len(staged) >= 3  # rotation, bootstrap, maintenance (and the restore drill)
    by_code = {sha256(path): path.parent.name for path in LAMBDA_DIR.glob("*/index.py")}
    for logical_id, asset in staged.items():
        found = {path.relative_to(asset).as_posix(): path for path in asset.rglob("*") if path.is_file()}
        expected = shipped_files(by_code[sha256(found["index.py"])], packages=True)
        assert sorted(found) == sorted(expected), logical_id
        assert all(sha256(found[name]) == sha256(expected[name]) for name in expected), logical_id
        # Our own code is copied (editing it never changes a staged asset); dependencies may be linked.
        assert not os.path.samefile(found["index.py"], expected["index.py"])
        assert not os.path.samefile(found["pg_common/secrets.py"], expected["pg_common/secrets.py"])


@pytest.fixture
def lambda_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of lambda/ and a small dependency folder, for changing files without touching the real ones."""
    lambda_dir = tmp_path / "lambda"
    shutil.copytree(LAMBDA_DIR / "database_bootstrap", lambda_dir / "database_bootstrap")
    shutil.copytree(LAMBDA_DIR / "pg_common", lambda_dir / "pg_common")
    dependencies = tmp_path / "deps"
    (dependencies / "pg8000").mkdir(parents=True)
    (dependencies / "pg8000" / "__init__.py").write_text("VERSION = 1\n")
    (dependencies / "pg8000-1.0.dist-info").mkdir()
    (dependencies / "pg8000-1.0.dist-info" / "RECORD").write_text(f"{dependencies}/pg8000/__init__.py\n")
    monkeypatch.setattr(lambda_code, "LAMBDA_DIR", lambda_dir)
    monkeypatch.setattr(lambda_code, "DEPENDENCIES_DIR", dependencies)
    return tmp_path


def bootstrap_hash() -> str:
    return content_hash(lambda_code.shipped_files("database_bootstrap", packages=True))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda root: (root / "lambda/database_bootstrap/index.py").write_text("# edited\n"), id="code"),
        pytest.param(lambda root: (root / "lambda/pg_common/models.py").write_text("# edited\n"), id="shared"),
        pytest.param(lambda root: (root / "deps/pg8000/__init__.py").write_text("VERSION = 20\n"), id="dependency"),
        pytest.param(lambda root: (root / "deps/pg8000/extra.py").write_text(""), id="new file"),
        pytest.param(
            lambda root: (root / "lambda/pg_common/models.py").rename(root / "lambda/pg_common/schema.py"),
            id="renamed",
        ),
    ],
)
def test_the_hash_changes_exactly_when_a_shipped_file_does(lambda_tree: Path, change: Any) -> None:
    before = bootstrap_hash()
    (lambda_tree / "deps/pg8000-1.0.dist-info/RECORD").write_text("not shipped\n")
    (lambda_tree / "lambda/database_bootstrap/__pycache__").mkdir()
    (lambda_tree / "lambda/database_bootstrap/__pycache__/index.cpython-311.pyc").write_bytes(b"\0")
    assert bootstrap_hash() == before  # build metadata and caches do not ship
    change(lambda_tree)
    assert bootstrap_hash() != before


def test_a_bundle_links_dependencies_and_copies_our_code(lambda_tree: Path) -> None:
    files = lambda_code.shipped_files("database_bootstrap", packages=True)
    out = lambda_tree / "out"
    out.mkdir()
    bundle: Any = lambda_code._LinkBundle(files)
    assert bundle.try_bundle(str(out)) is True
    assert sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file()) == sorted(files)
    assert os.path.samefile(out / "pg8000/__init__.py", lambda_tree / "deps/pg8000/__init__.py")
    assert not os.path.samefile(out / "index.py", lambda_tree / "lambda/database_bootstrap/index.py")


def test_without_installed_dependencies_synthesis_says_to_run_make_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lambda_code, "DEPENDENCIES_DIR", tmp_path / "missing")
    with pytest.raises(RuntimeError, match=r"missing or incomplete: run `make setup`"):
        lambda_code.shipped_files("database_bootstrap", packages=True)
