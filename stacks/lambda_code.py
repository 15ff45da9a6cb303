"""Assets of the functions in `lambda/`: bundled locally, offline, without Docker.

Each function's asset holds its own folder (`index.py`), the shared `pg_common` package (with the
RDS CA bundle) and the third-party packages of `lambda/requirements.txt` (Powertools, which every
function logs and traces with, pydantic, the PostgreSQL driver), which `make setup` installed for the
functions' platform (CPython 3.14 on ARM64) into `.lambda-deps/`. Synthesis
only links or copies files: no download, no container. The asset hash is computed from the files
that ship, so it changes exactly when one of them changes.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import os
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
_IGNORED_NAMES = ("__pycache__", "*.pyc", "RECORD", "INSTALLER", "direct_url.json", "requirements.txt")


def shipped_files(function: str, *, packages: bool) -> dict[str, Path]:
    """What the asset of `lambda/<function>/` holds: its path in the asset -> the file it is made from.

    With `packages`, the dependencies first, then the shared packages, then the function's own
    folder (a later file of the same path wins, as a copy over it would).
    """
    roots: list[tuple[str, Path]] = []
    if packages:
        if not (DEPENDENCIES_DIR / "pg8000").is_dir():
            raise RuntimeError(
                f"{DEPENDENCIES_DIR} is missing or incomplete: run `make setup` (it installs lambda/requirements.txt "
                "for the functions' platform)"
            )
        roots += [
            (entry.name, entry)
            for entry in sorted(DEPENDENCIES_DIR.iterdir())
            if entry.name != "bin" and not entry.name.startswith(".")
        ]
        roots += [(package, LAMBDA_DIR / package) for package in SHARED_PACKAGES]
    roots.append(("", LAMBDA_DIR / function))
    files: dict[str, Path] = {}
    for prefix, root in roots:
        if root.is_file():
            files[prefix] = root
            continue
        for directory, subdirectories, names in os.walk(root):
            subdirectories[:] = sorted(name for name in subdirectories if not _ignored(name))
            relative = Path(prefix, Path(directory).relative_to(root))
            for name in sorted(names):
                if not _ignored(name):
                    files[(relative / name).as_posix()] = Path(directory, name)
    return files


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in _IGNORED_NAMES)


def content_hash(files: dict[str, Path]) -> str:
    """SHA-256 over every path and its content: it changes exactly when a file that ships changes."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{_file_digest(files[name])}\0".encode())
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    """A file's SHA-256, read once per process while its size, times and inode stay the same.

    A file rewritten in place to the same size within one tick of the file system's clock keeps its
    old digest until the process ends: each synthesis is a new process (`app.py`, the CLI).
    """
    stat = path.stat()
    return _digest_of(str(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


@functools.cache
def _digest_of(path: str, _size: int, _mtime_ns: int, _ctime_ns: int, _inode: int) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


@jsii.implements(ILocalBundling)
class _LinkBundle:
    """Puts the function's shipped files into the asset.

    The installed dependencies are hard-linked where the file system allows (14 MB in a few
    milliseconds): nothing edits them in place (`make setup` replaces the whole folder), so a staged
    asset keeps its content. Our own code is copied, so that editing it never changes a staged asset.
    """

    def __init__(self, files: dict[str, Path]) -> None:
        self._files = files

    def try_bundle(self, output_dir: str, *_options: Any, **_keywords: Any) -> bool:
        out = Path(output_dir)
        for name, source in self._files.items():
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_relative_to(DEPENDENCIES_DIR):
                try:
                    os.link(source, target)
                    continue
                except OSError:  # another file system, or links not allowed: copy
                    pass
            shutil.copy2(source, target)
        return True


def function_code(function: str, *, packages: bool = True) -> lambda_.Code:
    """The asset of `lambda/<function>/` (handler `index.handler`), bundled by linking or copying.

    :param packages: ship the shared packages and lambda/requirements.txt's (every function in `lambda/`
        uses Powertools); False ships the function's own folder alone, for code that needs nothing
        beyond the runtime.

    The asset hash is computed here from the files that ship (`content_hash`), so aws-cdk-lib
    neither fingerprints the bundle again nor bundles when the asset is already staged.
    """
    if not (LAMBDA_DIR / function / "index.py").is_file():
        raise ValueError(f"function_code: lambda/{function}/index.py does not exist")
    files = shipped_files(function, packages=packages)
    return lambda_.Code.from_asset(
        str(LAMBDA_DIR / function),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=content_hash(files),
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or raises.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.14"),
            local=_LinkBundle(files),
        ),
    )


#: Path of the CA bundle inside every function's package (`pg_common/rds-ca-bundle.pem`).
CA_FILE = "/var/task/pg_common/rds-ca-bundle.pem"
