"""The layers hold: SQL is built only in `storage/` (issue 20, "SQL only in storage/")."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SQL_BUILDERS = {"select", "update", "delete", "insert", "col", "and_", "or_"}
SQL_PACKAGES = ("sqlalchemy", "sqlmodel")
# The one use of SQLAlchemy outside storage: showing a database URL without its password.
ALLOWED_IMPORTS = {("adapters/cli.py", "sqlalchemy.engine")}
WIRING = "adapters/cli.py"  # where settings, storage, dispatcher and adapters are put together


def _modules() -> list[tuple[str, ast.AST]]:
    found = []
    for folder in ("bot", "commands", "adapters"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            found.append((path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))))
    return found


def test_no_module_outside_storage_builds_sql() -> None:
    offences = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.split(".")[0] in ("sqlalchemy", "sqlmodel")
            ):
                if (name, node.module) not in ALLOWED_IMPORTS:
                    offences.append(f"{name}:{node.lineno} imports {node.module}")
            elif isinstance(node, ast.Import):
                offences += [
                    f"{name}:{node.lineno} imports {a.name}" for a in node.names if a.name.split(".")[0] in SQL_PACKAGES
                ]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SQL_BUILDERS:
                offences.append(f"{name}:{node.lineno} calls {node.func.id}()")
            elif isinstance(node, ast.Attribute) and node.attr == "session":
                owner = node.value
                if isinstance(owner, ast.Attribute) and owner.attr == "repos":
                    offences.append(f"{name}:{node.lineno} reaches into repos.session")
    assert offences == [], "\n".join(offences)


def test_command_handlers_and_adapters_go_through_services() -> None:
    """No handler or adapter imports storage (not even its row classes: handlers and cards are
    given read-only views, bot/views.py) or reaches a repository: the rules live in services
    (issue 20, "Handlers go through services only"). Only the wiring opens the database."""
    offences = []
    for name, tree in _modules():
        if not name.startswith(("commands/", "adapters/")) or name == WIRING:
            continue
        for node in ast.walk(tree):
            imported = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            imported += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            offences += [f"{name}:{node.lineno} imports {m}" for m in imported if m.split(".")[0] == "storage"]
            if isinstance(node, ast.Attribute) and node.attr == "repos":
                offences.append(f"{name}:{node.lineno} reaches .repos")
    assert offences == [], "\n".join(offences)


def test_cards_and_handlers_read_rows_through_views_that_cannot_change_them() -> None:
    """Every field of a view is a read-only property, and every row class satisfies its view as
    it is (mypy checks the uses; this checks the views say all a row holds, read-only)."""
    import inspect

    import bot.views as views
    import storage.models as rows

    for view_name, view in inspect.getmembers(views, inspect.isclass):
        if not view_name.endswith("View") or view.__module__ != views.__name__:
            continue
        row = getattr(rows, view_name.removesuffix("View"))
        members = {k: v for kind in reversed(view.__mro__[:-1]) for k, v in vars(kind).items() if not k.startswith("_")}
        assert all(isinstance(v, property) and v.fset is None for v in members.values()), view_name
        assert set(row.model_fields) <= set(members), (view_name, set(row.model_fields) - set(members))


def test_the_scheduler_the_delivery_worker_and_the_app_go_through_services() -> None:
    """What runs on the clock (bot/due.py's sources, the delivery worker) and the app's own
    figures reach the database only through services, as handlers do: the rules (what falls due
    next, how long a failed send waits, when a row has been tried enough) live in one place."""
    offences = [
        f"{name}:{node.lineno} reaches .repos"
        for name, tree in _modules()
        if name.startswith("bot/") and not name.startswith("bot/services/")
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "repos"
    ]
    assert offences == [], "\n".join(offences)


def test_command_handlers_change_no_row_themselves() -> None:
    """A handler asks a service to change things; it never sets a field of a row it was handed
    (`member.role = ...`), which would skip the service's rules."""
    offences = []
    for name, tree in _modules():
        if not name.startswith("commands/"):
            continue
        for node in ast.walk(tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AugAssign)
                else []
            )
            for target in targets:
                if isinstance(target, ast.Attribute):
                    owner = target.value
                    while isinstance(owner, ast.Attribute):
                        owner = owner.value
                    if isinstance(owner, ast.Name) and owner.id in ("ctx", "self"):
                        if ast.unparse(target).startswith(("ctx.audit_", "self.")):
                            continue
                        if isinstance(target.value, ast.Name):  # ctx.something = ...: the context's own
                            continue
                    offences.append(f"{name}:{node.lineno} sets {ast.unparse(target)}")
    assert offences == [], "\n".join(offences)


def test_no_platform_is_named_outside_its_adapter() -> None:
    """The core and the commands branch on no platform: what differs is asked of its `Platform`
    (README, "Adding a platform"). A platform's name appears as a value only in its own folder and
    in the registration in `adapters/__init__.py`."""
    names = {"slack", "discord", "console", "email"}
    offences = []
    for name, tree in _modules():
        folder = name.split("/")[1] if name.startswith("adapters/") and name.count("/") > 1 else None
        # A command may share a platform's name (`/coalition email`) without branching on it.
        command_names = {
            id(k.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "CommandSpec"
            for k in node.keywords
            if k.arg == "name"
        }
        # ... nor a table of command names (adapters/discord/names.py: `/coalition email`'s Spanish name).
        command_names |= {
            id(key)
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and any(getattr(t, "id", "") in ("COMMANDS", "SUBCOMMANDS") for t in node.targets)
            and isinstance(node.value, ast.Dict)
            for key in node.value.keys
        }
        for node in ast.walk(tree):
            named = (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in names
                and id(node) not in command_names
            )
            if named and node.value != folder:
                offences.append(f"{name}:{node.lineno} names {node.value!r}")
    assert offences == [], "\n".join(offences)


def _words(identifier: str) -> set[str]:
    """The words of a name, in snake_case or CamelCase: SlackPlatform -> {"slack", "platform"}."""
    return set(re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", identifier).lower().split("_"))


def test_no_identifier_names_a_chat_platform_outside_its_adapter() -> None:
    """No variable, field, function, class, argument or import outside `adapters/<name>/` is named
    for Slack, Discord or the console (`slack_bot_token` in the core's settings was one): a
    platform's settings, limits and set-up live with it. Only the registration
    (`adapters/__init__.py`) and the wiring (`adapters/cli.py`) name them. Email is left out of
    this rule on purpose: a member's email address is the core's own data (storage/email.py), as
    their display name is; the email platform's name as a value is caught by the test above."""
    chat = {"slack", "discord", "console"}
    allowed = {"adapters/__init__.py", WIRING}
    offences = []
    for name, tree in _modules():
        folder = name.split("/")[1] if name.startswith("adapters/") and name.count("/") > 1 else None
        if name in allowed:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                found = [node.id]
            elif isinstance(node, ast.Attribute):
                found = [node.attr]
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found = [node.name]
            elif isinstance(node, ast.arg) or (isinstance(node, ast.keyword) and node.arg):
                found = [node.arg]
            elif isinstance(node, ast.alias):
                found = [(node.asname or node.name).split(".")[-1]]
            else:
                continue
            for identifier in found:
                offences += [f"{name}:{node.lineno} {identifier}" for w in _words(identifier) & chat if w != folder]
    assert offences == [], "\n".join(offences)


def test_each_module_of_the_core_can_be_imported_first() -> None:
    """A cycle between modules shows only when the wrong one is imported first (a script, a bench,
    a new adapter): each module of `bot/` is imported alone, in a fresh interpreter."""
    names = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in sorted((ROOT / "bot").rglob("*.py"))
    ]
    script = "import importlib, sys; importlib.import_module(sys.argv[1])"
    failed = []
    for start in range(0, len(names), 8):  # a few at a time: each is a whole interpreter
        running = {
            name: subprocess.Popen([sys.executable, "-c", script, name], cwd=ROOT, stderr=subprocess.PIPE, text=True)
            for name in names[start : start + 8]
        }
        for name, process in running.items():
            _, err = process.communicate(timeout=120)
            if process.returncode:
                failed.append(f"{name}: {err.strip().splitlines()[-1]}")
    assert not failed, failed


def test_a_platform_that_leaves_out_part_of_the_contract_cannot_be_made() -> None:
    """A platform without `start` (or `configured`, or `missing`) used to be made, report itself
    unconfigured and never start, without a word. Now it fails where it is made."""
    from adapters.platform import PlatformAdapter

    class Forgetful(PlatformAdapter):
        name = "forgetful"

        def configured(self, settings):  # type: ignore[no-untyped-def]
            return True

        def missing(self) -> str:
            return ""

    with pytest.raises(TypeError, match="start"):
        Forgetful()  # type: ignore[abstract]


async def test_a_messenger_that_leaves_out_a_method_is_refused_at_start(app) -> None:  # type: ignore[no-untyped-def]
    from tests.messengers import MemoryPlatform

    class Broken:
        platform = "broken"

        async def send(self, conversation, reply, *, key):  # type: ignore[no-untyped-def]
            raise AssertionError

    with pytest.raises(TypeError, match="send_private, update, find_sent"):
        app.add_messenger(Broken())
    app.add_messenger(MemoryPlatform())  # the whole contract: accepted


def test_a_platform_whose_messages_hold_less_than_the_cards_use_is_refused_naming_the_limit() -> None:
    from adapters import PLATFORMS, refuse_short
    from adapters.console.platform import ConsolePlatform
    from bot.platform import Limits
    from bot.replies import CARDS

    class Narrow(ConsolePlatform):
        limits = Limits(label=64, menu_options=10, menus=5, action_id=255)

    with pytest.raises(TypeError, match=r"Narrow.limits holds less .*label 64 < 75; menu_options 10 < 25"):
        refuse_short((*PLATFORMS, Narrow()))
    for each in PLATFORMS:  # and every registered one holds what the cards use
        assert each.limits.short_of(CARDS) == []
