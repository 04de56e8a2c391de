"""The core is a functional core (DESIGN.md §8): no shell imports, no I/O, no clock.

Checked statically with `ast` on every module under src/threadline/core, and once at
run time in a fresh interpreter. The checker is itself tested on small snippets so a
broken checker cannot pass silently.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import threadline.core

CORE_DIR = Path(threadline.core.__file__).resolve().parent
CORE_PACKAGE = "threadline.core"
CORE_MODULES = sorted(CORE_DIR.rglob("*.py"))

# The shell, and the libraries that do I/O, run an event loop or read the clock.
FORBIDDEN_MODULES = (
    "threadline.service",
    "threadline.adapters",
    "threadline.api",
    "threadline.cli",
    "threadline.settings",
    "threadline.demo",
    "threadline.migrations",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic_settings",
    "httpx",
    "asyncio",
    "aiosqlite",
    "asyncpg",
    "redis",
    "os",
    "time",
    "subprocess",
    "socket",
    "random",
    "secrets",
    "importlib",
)
# datetime.now(), datetime.utcnow(), date.today(), datetime.today()
CLOCK_METHODS = frozenset({"now", "utcnow", "today"})
# time.time(), time.monotonic(), ... (also banned by the import rule; belt and braces)
TIME_FUNCTIONS = frozenset(
    {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"}
)
# Identifiers are handed in by the caller; the core does not mint them.
ID_MINTING = frozenset({"uuid1", "uuid4"})
IO_BUILTINS = frozenset({"open", "print", "input", "__import__", "exec", "eval"})


def _module_name(path: Path) -> str:
    relative = path.relative_to(CORE_DIR).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join([CORE_PACKAGE, *parts])


def _is_forbidden(module: str) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN_MODULES)


def _resolve(node: ast.ImportFrom, module_name: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    package = module_name.split(".") if is_package else module_name.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def violations(
    source: str, module_name: str = "threadline.core.sample", *, is_package: bool = False
) -> list[str]:
    """Everything in `source` that a pure core module must not do."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names if _is_forbidden(a.name)]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, module_name, is_package)
            if _is_forbidden(base):
                found.append(f"imports from {base}")
            else:
                # `from threadline import service` names the module in the alias.
                found += [
                    f"imports {base}.{a.name}"
                    for a in node.names
                    if _is_forbidden(f"{base}.{a.name}")
                ]
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                if func.attr in CLOCK_METHODS:
                    found.append(f"reads the clock: .{func.attr}()")
                elif func.attr in TIME_FUNCTIONS and _root_name(func.value) == "time":
                    found.append(f"reads the clock: time.{func.attr}()")
                elif func.attr in ID_MINTING:
                    found.append(f"mints an id: .{func.attr}()")
            elif isinstance(func, ast.Name):
                if func.id in IO_BUILTINS:
                    found.append(f"calls {func.id}()")
                elif func.id in ID_MINTING:
                    found.append(f"mints an id: {func.id}()")
    return found


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


# -- the core --------------------------------------------------------------------------------


def test_the_core_modules_are_all_found() -> None:
    names = {p.stem for p in CORE_MODULES}
    expected = {"conversations", "routing", "pacing", "access", "messages", "customers"}
    assert expected | {"agents", "errors", "time", "events", "__init__"} <= names


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda p: p.name)
def test_core_module_imports_no_shell_io_or_clock(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    is_package = path.name == "__init__.py"
    assert violations(source, _module_name(path), is_package=is_package) == []


def test_importing_the_core_loads_no_shell_or_framework() -> None:
    modules = sorted(_module_name(p) for p in CORE_MODULES)
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(result.stdout)
    assert CORE_PACKAGE + ".routing" in loaded
    shell = ("threadline.service", "threadline.adapters", "threadline.api", "threadline.cli",
             "threadline.settings", "threadline.demo", "sqlalchemy", "fastapi", "starlette",
             "httpx", "pydantic", "uvicorn")  # fmt: skip
    leaked = [m for m in loaded if any(m == s or m.startswith(s + ".") for s in shell)]
    assert leaked == []


# -- the checker itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import os",
        "import os.path",
        "import time",
        "import asyncio",
        "import sqlalchemy.orm",
        "from sqlalchemy import select",
        "from fastapi import FastAPI",
        "from starlette.requests import Request",
        "import httpx",
        "from time import monotonic",
        "from threadline.service import conversations",
        "from threadline.adapters.repositories import conversations",
        "from threadline import settings",
        "from threadline import api",
        "from threadline.cli.main import app",
        "import threadline.demo",
        "from .. import service",
        "from ..settings import Settings",
        "from datetime import datetime\nx = datetime.now()",
        "import datetime\nx = datetime.datetime.utcnow()",
        "from datetime import date\nx = date.today()",
        "from datetime import UTC, datetime\nx = datetime.now(UTC)",
        "x = time.time()",
        "x = time.monotonic()",
        "import uuid\nx = uuid.uuid4()",
        "from uuid import uuid4\nx = uuid4()",
        "open('f').read()",
        "print('hi')",
    ],
)
def test_checker_catches(source: str) -> None:
    assert violations(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "from threadline.core.time import require_utc",
        "from .time import require_utc",
        "from threadline.core import pacing",
        "from datetime import UTC, datetime, timedelta\nx: datetime",
        "import uuid\nx = uuid.UUID(int=1)",
        "from fractions import Fraction\nimport heapq",
        "from zoneinfo import ZoneInfo",
        "def f(now):\n    return now + 1",
    ],
)
def test_checker_allows_pure_code(source: str) -> None:
    assert violations(source) == []


def test_relative_imports_resolve_against_the_package() -> None:
    node = ast.parse("from ..service import x").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert _resolve(node, "threadline.core.routing", is_package=False) == "threadline.service"
    node = ast.parse("from . import pacing").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert _resolve(node, "threadline.core", is_package=True) == "threadline.core"
