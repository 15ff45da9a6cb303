"""Assets of the functions in `lambda/`: bundled locally, offline, without Docker.

Each database function's asset holds its own folder (`index.py`), the shared `pg_common` package
(with the RDS CA bundle) and the third-party packages of `lambda/requirements.txt`, which `make
setup` installed for the functions' platform (CPython 3.14 on ARM64) into `.lambda-deps/`. A function
that needs only the runtime's boto3 (the cost reports) ships its own folder alone. Synthesis
only copies files: no download, no container. The asset hash is computed from the bundled output,
so it changes exactly when a file that ships changes.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling, aws_lambda as lambda_

from platform_constructs.postgres import FUNCTION_ARCHITECTURE, FUNCTION_RUNTIME

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_DIR = ROOT / "lambda"
#: Where `make setup` installs lambda/requirements.txt: wheels for the runtime and architecture the
#: functions run on (platform_constructs.postgres), e.g. `.lambda-deps/arm64-py314`.
DEPENDENCIES_DIR = (
    ROOT
    / ".lambda-deps"
    / f"{FUNCTION_ARCHITECTURE.name}-py{FUNCTION_RUNTIME.name.removeprefix('python').replace('.', '')}"
)
SHARED_PACKAGES = ("pg_common",)
#: Never shipped: build metadata with machine-specific paths, and compiled caches.
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "RECORD", "INSTALLER", "direct_url.json", "requirements.txt")


@jsii.implements(ILocalBundling)
class _CopyBundle:
    """Copies a function, the shared packages and the pre-installed dependencies into the asset."""

    def __init__(self, function: str, packages: bool) -> None:
        self._function = function
        self._packages = packages

    def try_bundle(self, output_dir: str, *_options: Any, **_keywords: Any) -> bool:
        if not self._packages:
            shutil.copytree(LAMBDA_DIR / self._function, Path(output_dir), ignore=_IGNORED, dirs_exist_ok=True)
            return True
        if not (DEPENDENCIES_DIR / "pg8000").is_dir():
            raise RuntimeError(
                f"{DEPENDENCIES_DIR} is missing or incomplete: run `make setup` (it installs lambda/requirements.txt "
                "for the functions' platform)"
            )
        out = Path(output_dir)
        for entry in sorted(DEPENDENCIES_DIR.iterdir()):
            if entry.name == "bin" or entry.name.startswith("."):
                continue
            if entry.is_dir():
                shutil.copytree(entry, out / entry.name, ignore=_IGNORED)
            else:
                shutil.copy2(entry, out / entry.name)
        for package in SHARED_PACKAGES:
            shutil.copytree(LAMBDA_DIR / package, out / package, ignore=_IGNORED)
        shutil.copytree(LAMBDA_DIR / self._function, out, ignore=_IGNORED, dirs_exist_ok=True)
        return True


def function_code(function: str, *, packages: bool = True) -> lambda_.Code:
    """The asset of `lambda/<function>/` (handler `index.handler`), bundled by copying.

    :param packages: ship the shared packages and lambda/requirements.txt's (the database functions);
        False for a function that needs only the runtime's boto3 (the cost reports).
    """
    if not (LAMBDA_DIR / function / "index.py").is_file():
        raise ValueError(f"function_code: lambda/{function}/index.py does not exist")
    return lambda_.Code.from_asset(
        str(LAMBDA_DIR / function),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or raises.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.14"),
            local=_CopyBundle(function, packages),
        ),
    )


#: Path of the CA bundle inside every function's package (`pg_common/rds-ca-bundle.pem`).
CA_FILE = "/var/task/pg_common/rds-ca-bundle.pem"
