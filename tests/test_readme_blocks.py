"""Every fenced block of the manual (README.md and every page under docs/) is tested as written, the way the
page says it is used.

Marker convention. Each fenced block carries, on the nearest non-blank line before its opening fence (indented
like the fence inside a list), an HTML comment that says what kind of block it is; GitHub does not render it:

    <!-- block: run -->                           shell; each command runs offline (no credentials) in a copy of
                                                  the repository, in order, and must exit 0 (slow tier). A line
                                                  `make synth` is the one synthesis all these blocks share.
    <!-- block: dry-run: <reason> -->             shell not run here (the suite itself, 50 minutes, a history of
                                                  git refs...): each `make ...` line must pass `make -n`, each
                                                  `.venv/bin/pytest ...` line must collect a test, each
                                                  `.venv/bin/python -m <module>` must name a module. A reason that
                                                  names `tests/<file>.py::<test>` must name an existing test.
    <!-- block: needs-aws: <reason> -->           shell that needs credentials or a deployed account; its `make`
                                                  lines must still pass `make -n`
    <!-- block: config <target> -->               TOML, validated as the page uses it:
                                                    environment          a whole config/<name>.toml
                                                    <name>.toml          set in that environment file (dev.toml...)
                                                    every-environment    set in each of dev, staging and prod
                                                    services.toml        set in config/services.toml, then every
                                                                         environment is validated with those
                                                                         services; a service it adds is
                                                                         synthesised in dev (slow tier)
                                                    diff-allowlist.toml  entries make diff's allow-list accepts
                                                  "Set in" merges the block's keys into the committed file's, so an
                                                  excerpt of an existing table works as a change of those keys.
    <!-- block: output -->                        what a command prints (text); nothing to run
    <!-- block: example: <reason> -->             code shown for reading (application code, SQL for a deployed
                                                  database)

MyST directives (a fence whose language is `{name}`, e.g. `{toctree}`) are navigation, not blocks.
A reason is at least three words. A block without a marker, with an unknown kind, or whose kind does not fit
its language fails `test_every_block_is_classified`: nothing is skipped silently.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config import CONFIG_DIR, ENVIRONMENT_NAMES, ConfigError, EnvironmentConfig
from config.loader import validate_environment, validate_services

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
#: The manual: the front door and every page under docs/, each block read from the file it is in.
MANUAL = [README, *sorted((ROOT / "docs").rglob("*.md"))]
#: The blocks the manual holds (24 at the move to docs/, when README.md held them all; 26 with the worked
#: examples of docs/contributing.md). Fewer collected means a block was lost in a move or its page is not
#: read: raise this floor when blocks are added, never lower it.
BLOCKS_FLOOR = 26

SHELL = frozenset({"bash", "sh", "shell", "console"})
KINDS: dict[str, frozenset[str]] = {  # kind -> the info strings (languages) it fits
    "run": SHELL,
    "dry-run": SHELL,
    "needs-aws": SHELL,
    "config": frozenset({"toml"}),
    "output": frozenset({"text", ""}),
    "example": frozenset({"python", "sql", "json", "yaml", "text", "diff", ""}),
}
NEEDS_REASON = frozenset({"dry-run", "needs-aws", "example"})
CONFIG_TARGETS = (
    "environment",
    "every-environment",
    "services.toml",
    "diff-allowlist.toml",
    *(f"{name}.toml" for name in ENVIRONMENT_NAMES),
)
MARKER = re.compile(r"^<!--\s*block:\s*(?P<kind>[a-z-]+)(?P<rest>.*?)\s*-->$")
FENCE = re.compile(r"^(?P<indent>[ ]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
#: The command every `run` block shares: run once per session, by the `workspace` fixture.
SHARED_SYNTH = "make synth"


@dataclass(frozen=True)
class Block:
    line: int  #: of the opening fence, 1-based
    info: str
    body: str
    kind: str | None
    argument: str  #: the config target, or the reason
    source: str = "README.md"  #: the page, relative to the repository

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line} ({self.info or 'no language'})"

    def commands(self) -> list[str]:
        """The shell commands, one per line (continuations joined), comment-only lines dropped."""
        joined = re.sub(r"\s*\\\n\s*", " ", self.body)
        return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def parse_blocks(text: str, source: str = "README.md") -> list[Block]:
    """Every fenced block of a Markdown text, with the marker before it (None when there is none)."""
    lines = text.splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].strip()
        closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = next((i for i in range(index + 1, len(lines)) if closing.match(lines[i])), len(lines))
        if info.startswith("{"):  # a MyST directive ({toctree}): the site's navigation, not a block
            index = end + 1
            continue
        body = "\n".join(line.removeprefix(indent) for line in lines[index + 1 : end]) + "\n"
        previous = next((lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = MARKER.match(previous)
        kind, argument = None, ""
        if marker:
            kind, rest = marker["kind"], marker["rest"].strip()
            argument = rest.removeprefix(":").strip() if kind in NEEDS_REASON else rest
        blocks.append(Block(index + 1, info.split()[0] if info else "", body, kind, argument, source))
        index = end + 1
    return blocks


BLOCKS = [
    block for page in MANUAL for block in parse_blocks(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))
]


def blocks_of(kind: str) -> list[Block]:
    return [block for block in BLOCKS if block.kind == kind]


def ids(blocks: list[Block]) -> list[str]:
    return [f"{block.source}:{block.line}" for block in blocks]


# --- the convention itself ---------------------------------------------------------------------------
def test_the_parser_reads_markers_languages_and_list_indentation() -> None:
    text = (
        "<!-- block: run -->\n```bash\nmake synth   # all\nmake \\\n  audit\n```\n\n"
        '1. Step:\n   <!-- block: config dev.toml -->\n   ```toml\n   [images]\n   a = "1"\n   ```\n'
        "```text\nunmarked\n```\n"
        "<!-- block: needs-aws: pushes to the account's registry -->\n````sh\n```\n````\n"
    )
    assert make_arguments("FIX=1 make preflight ENV=dev  # creates the role") == ["preflight", "ENV=dev"]
    assert make_arguments("aws s3 ls") is None
    run, config, unmarked, aws = parse_blocks(text)
    assert (run.kind, run.info, run.commands()) == ("run", "bash", ["make synth   # all", "make audit"])
    assert (config.kind, config.argument, config.body) == ("config", "dev.toml", '[images]\na = "1"\n')
    assert (unmarked.kind, unmarked.info) == (None, "text")
    assert (aws.kind, aws.argument, aws.body) == ("needs-aws", "pushes to the account's registry", "```\n")


def test_a_myst_directive_is_navigation_not_a_block() -> None:
    text = "```{toctree}\nconfiguration\n```\n\n<!-- block: output -->\n```text\nshown\n```\n"
    (block,) = parse_blocks(text, "docs/index.md")
    assert (block.kind, block.body, block.where) == ("output", "shown\n", "docs/index.md:6 (text)")


def test_every_block_is_classified() -> None:
    """No block is skipped silently: each names a known kind that fits its language, with its reason."""
    problems = []
    for block in BLOCKS:
        if block.kind is None:
            problems.append(f"{block.where}: no <!-- block: ... --> marker (see tests/test_readme_blocks.py)")
        elif block.kind not in KINDS:
            problems.append(f"{block.where}: unknown kind {block.kind!r}; one of {', '.join(KINDS)}")
        elif block.info not in KINDS[block.kind]:
            problems.append(f"{block.where}: a {block.kind} block must be one of {sorted(KINDS[block.kind])}")
        elif block.kind in NEEDS_REASON and len(block.argument.split()) < 3:
            problems.append(f"{block.where}: {block.kind} needs a reason of at least three words after a colon")
        elif block.kind == "config" and block.argument not in CONFIG_TARGETS:
            problems.append(f"{block.where}: config target {block.argument!r}; one of {', '.join(CONFIG_TARGETS)}")
        elif block.kind in {"run", "dry-run", "needs-aws"} and not block.commands():
            problems.append(f"{block.where}: a shell block without a command")
    assert problems == []


def test_no_block_was_lost_when_the_manual_moved_to_docs() -> None:
    assert len(BLOCKS) >= BLOCKS_FLOOR, f"{len(BLOCKS)} blocks in README.md and docs/, at least {BLOCKS_FLOOR} before"
    assert {block.source for block in BLOCKS} > {"README.md"}  # the pages under docs/ are read too


# --- TOML: validated as the page uses it -------------------------------------------------------------
def merged(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """`base` with every key of `change` set (tables merged key by key)."""
    result = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def committed(name: str) -> dict[str, Any]:
    return tomllib.loads((CONFIG_DIR / name).read_text(encoding="utf-8"))


def environments_for(block: Block) -> list[EnvironmentConfig]:
    """The environment configs the block leads to, validated (ConfigError names every problem)."""
    data = tomllib.loads(block.body)
    target = block.argument
    services = None
    if target == "services.toml":
        services = validate_services(merged(committed("services.toml"), data), source="config/services.toml")
    if target == "environment":
        sources = {data.get("name", "?"): data}
    elif target == "every-environment":
        sources = {name: merged(committed(f"{name}.toml"), data) for name in ENVIRONMENT_NAMES}
    elif target in {f"{name}.toml" for name in ENVIRONMENT_NAMES}:
        sources = {target.removesuffix(".toml"): merged(committed(target), data)}
    else:
        sources = {name: committed(f"{name}.toml") for name in ENVIRONMENT_NAMES}
    configs = []
    problems: list[str] = []
    for name, raw in sources.items():
        try:
            configs.append(
                validate_environment(raw, source=f"config/{name}.toml", expected_name=name, services=services)
            )
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    return configs


CONFIG_BLOCKS = [b for b in blocks_of("config") if b.argument != "diff-allowlist.toml"]


@pytest.mark.parametrize("block", CONFIG_BLOCKS, ids=ids(CONFIG_BLOCKS))
def test_a_config_block_is_accepted_where_the_readme_puts_it(block: Block) -> None:
    try:
        configs = environments_for(block)
    except ConfigError as error:
        pytest.fail(f"{block.where} is refused as `config {block.argument}`:\n" + "\n".join(error.problems))
    assert configs
    if block.argument == "services.toml":  # every environment gets the services the block sets
        for config in configs:
            assert set(tomllib.loads(block.body)["services"]) <= set(config.services), config.name


ALLOW_BLOCKS = [b for b in blocks_of("config") if b.argument == "diff-allowlist.toml"]


@pytest.mark.parametrize("block", ALLOW_BLOCKS, ids=ids(ALLOW_BLOCKS))
def test_an_allow_list_block_is_read_by_make_diff(block: Block, tmp_path: Path) -> None:
    from tools.diff_stacks import load_allowances

    path = tmp_path / "diff-allowlist.toml"
    path.write_text(block.body, encoding="utf-8")
    entries = load_allowances(path)
    assert len(entries) == len(tomllib.loads(block.body)["allow"]) > 0, block.where
    assert all(entry.reason.strip() for entry in entries), block.where


def added_services(block: Block) -> set[str]:
    return set(tomllib.loads(block.body).get("services", {})) - set(committed("services.toml")["services"])


ADDING_BLOCKS = [b for b in blocks_of("config") if b.argument == "services.toml" and added_services(b)]


def test_the_add_a_service_example_is_among_the_blocks_that_add_one() -> None:
    page = ROOT / "docs" / "contributing.md"
    section = page.read_text(encoding="utf-8").split("\n## Add a service\n", 1)[1].split("\n## ", 1)[0]
    assert any(block.body in section for block in ADDING_BLOCKS), "the Add a service example is not checked"


@pytest.mark.slow  # one synthesis of dev per block, with the compliance gate and CloudFormation validation
@pytest.mark.parametrize("block", ADDING_BLOCKS, ids=ids(ADDING_BLOCKS))
def test_a_service_a_block_adds_synthesises_with_its_resources(block: Block, tmp_path: Path) -> None:
    import json

    from stacks.compliance import synthesize
    from stacks.platform_app import build_app, feature_flags, new_app

    dev = next(config for config in environments_for(block) if config.name == "dev")
    synthesize(build_app([dev], new_app(outdir=str(tmp_path), context=feature_flags())))
    templates = "\n".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.template.json"))
    for name in added_services(block):
        assert f"ticketing/dev/{name}" in templates, f"no repository for {name}"
        assert f"ticketing-dev-{name}" in templates, f"no cache user or service named for {name}"
        if dev.services[name].database:
            assert json.dumps(dev.services[name].database) in templates, f"no database for {name}"


# --- shell: what is not run here still names what exists ----------------------------------------------
SHELL_BLOCKS = [b for b in BLOCKS if b.kind in {"run", "dry-run", "needs-aws"}]


def make_arguments(command: str) -> list[str] | None:
    """The arguments of a `make ...` command line (comment dropped), None for another command."""
    words = shlex.split(command, comments=True)
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):  # FIX=1 make ...: the variable too
        words = words[1:]
    return words[1:] if words and words[0] == "make" else None


def clean_environment() -> dict[str, str]:
    """The environment a user without AWS credentials has: no AWS_* variable, the virtualenv first on PATH."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=ids(SHELL_BLOCKS))
def test_every_make_command_names_a_target_make_knows(block: Block) -> None:
    """`make -n` prints what a command would run without running it: the target and variables exist."""
    for command in block.commands():
        for part in re.split(r"\s*&&\s*", command):
            arguments = make_arguments(part)
            if arguments is None:
                continue
            result = subprocess.run(
                ["make", "--no-print-directory", "-n", *arguments],
                cwd=ROOT,
                env=clean_environment(),
                capture_output=True,
                text=True,
                check=False,
            )
            assert result.returncode == 0, f"{block.where}: `{part}`: {result.stderr.strip()}"


def test_tests_named_as_a_reason_exist() -> None:
    for block in BLOCKS:
        for path, name in re.findall(r"(tests/[\w/]+\.py)::(\w+)", block.argument):
            file = ROOT / path
            assert file.is_file(), f"{block.where}: {path} does not exist"
            names = {node.name for node in ast.walk(ast.parse(file.read_text(encoding="utf-8")))
                     if isinstance(node, ast.FunctionDef)}  # fmt: skip
            assert name in names, f"{block.where}: {path} has no test {name}"


DRY_RUN_BLOCKS = blocks_of("dry-run")


@pytest.mark.parametrize("block", DRY_RUN_BLOCKS, ids=ids(DRY_RUN_BLOCKS))
def test_a_dry_run_blocks_commands_name_what_exists(block: Block) -> None:
    for command in block.commands():
        words = shlex.split(command, comments=True)
        if words[0] in {"make", PYTEST}:
            continue  # test_every_make_command_names_a_target_make_knows, test_a_dry_run_blocks_pytest_lines_collect
        if words[:2] == [".venv/bin/python", "-m"]:
            assert importlib.util.find_spec(words[2]) is not None, f"{block.where}: no module {words[2]}"
        else:
            pytest.fail(f"{block.where}: `{command}`: a dry-run block holds make, pytest or python -m commands")


PYTEST = ".venv/bin/pytest"
PYTEST_LINES = [(b, c) for b in DRY_RUN_BLOCKS for c in b.commands() if shlex.split(c, comments=True)[0] == PYTEST]


@pytest.mark.slow  # collecting tests/lambda imports the database functions' test modules (tens of seconds)
@pytest.mark.parametrize(
    ("block", "command"), PYTEST_LINES, ids=[f"{b.source}:{b.line}-{c[:40]}" for b, c in PYTEST_LINES]
)
def test_a_dry_run_blocks_pytest_lines_collect(block: Block, command: str) -> None:
    words = shlex.split(command, comments=True)
    result = subprocess.run(
        [str(ROOT / PYTEST), "--collect-only", "-q", "-p", "no:cacheprovider", *words[1:]],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"{block.where}: `{command}` collects nothing:\n{result.stdout[-2000:]}"
    assert re.search(r"^\d+(/\d+)? tests? collected", result.stdout, re.MULTILINE), result.stdout[-2000:]


# --- shell: run as written (slow tier) -------------------------------------------------------------------
#: Not copied into the workspace: build output, caches, git; the virtualenv and packages are linked.
_NOT_COPIED = shutil.ignore_patterns(
    ".git", "cdk.out*", ".venv", "node_modules", ".lambda-deps", ".baseline", "*_cache", "__pycache__", ".hypothesis"
)
_LINKED = (".venv", "node_modules", ".lambda-deps")


def new_workspace(target: Path, source: Path = ROOT) -> Path:
    """A copy of the repository at `source` (modification times kept, so make sees set-up as done)."""
    shutil.copytree(source, target, ignore=_NOT_COPIED, symlinks=True)
    for name in _LINKED:
        if (ROOT / name).exists() and not (target / name).exists():
            (target / name).symlink_to(ROOT / name)
    return target


def run_in(workspace: Path, command: str) -> subprocess.CompletedProcess[str]:
    env = clean_environment()
    env["PATH"] = f"{workspace / '.venv' / 'bin'}:{env['PATH']}"
    env["PYTHONPATH"] = f"{workspace / 'constructs'}:{workspace}"  # the copy's code, not the editable install's
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )


@pytest.fixture(scope="session")
def synthesised_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository after `make synth`, run once as the README writes it."""
    current = subprocess.run(["make", "-q", "setup"], cwd=ROOT, env=clean_environment(), check=False)
    if current.returncode != 0:  # the copy links .venv: its make would rebuild the shared one from the copy
        pytest.fail("the set-up is older than the requirement files: run `make setup` first")
    workspace = new_workspace(tmp_path_factory.mktemp("readme") / "repo")
    result = run_in(workspace, SHARED_SYNTH)
    assert result.returncode == 0, f"{SHARED_SYNTH}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return workspace


RUN_BLOCKS = blocks_of("run")


def commands_to_run(block: Block) -> Iterator[str]:
    for command in block.commands():
        if shlex.split(command, comments=True) != shlex.split(SHARED_SYNTH):
            yield command  # `make synth` itself was run once for all blocks by the fixture


@pytest.mark.slow  # copies the repository, synthesises every environment once, then runs each block's commands
@pytest.mark.parametrize("block", RUN_BLOCKS, ids=ids(RUN_BLOCKS))
def test_a_run_block_runs_as_written(block: Block, synthesised_workspace: Path, tmp_path: Path) -> None:
    workspace = new_workspace(tmp_path / "repo", synthesised_workspace)
    shutil.copytree(synthesised_workspace / "cdk.out", workspace / "cdk.out", symlinks=True)
    for command in commands_to_run(block):
        result = run_in(workspace, command)
        assert result.returncode == 0, f"{block.where}: `{command}`:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
