from __future__ import annotations

import pytest

from bot.permissions import Permission
from bot.replies import Reply, action_id
from commands import build_registry
from commands.help import detail, overview
from commands.registry import Registry
from commands.spec import ActionSpec, CommandSpec, OptionSpec, OptionType


async def handler(ctx) -> Reply:  # pragma: no cover - never run here
    return Reply("ok")


def test_every_leaf_is_listed_with_a_path() -> None:
    reg = build_registry()
    paths = [p for p, _ in reg.leaves()]
    assert ("coalition", "help") in paths
    assert ("coalition", "link") in paths
    assert all(len(p) == 2 for p in paths)


def test_help_is_generated_from_the_registry() -> None:
    reg = build_registry()
    text = overview(reg).text
    for path, spec in reg.leaves():
        assert f"/{' '.join(path)}" in text  # every command in the overview, its description a click away
        assert spec.description in detail(reg, path[:1]).text
    one = detail(reg, ("coalition", "link")).text
    assert "Usage: `/coalition link [--tags TAGS] [--language LANGUAGE]`" in one
    assert "Who can use it: coordinators." in one
    assert detail(reg, ("coalition", "nothing")).error


def test_declaration_mistakes_are_caught_at_start_up() -> None:
    reg = Registry()
    reg.add(CommandSpec("a", "A", handler=handler))
    with pytest.raises(ValueError, match="twice"):
        reg.add(CommandSpec("a", "A", handler=handler))
    with pytest.raises(ValueError, match="needs a handler"):
        reg.add(CommandSpec("b", "B"))
    with pytest.raises(ValueError, match="only the last positional"):
        reg.add(
            CommandSpec(
                "c",
                "C",
                handler=handler,
                options=(
                    OptionSpec("x", OptionType.STRING, "x", positional=True, multiple=True),
                    OptionSpec("y", OptionType.STRING, "y", positional=True),
                ),
            )
        )
    with pytest.raises(ValueError, match="at most 100 characters"):
        reg.add(CommandSpec("d", "D" * 101, handler=handler))


def test_actions_route_by_prefix_and_name_their_ids() -> None:
    reg = Registry()
    reg.add_action(ActionSpec("poll:vote", handler, Permission.PARTICIPANT, params=("poll", "option")))
    spec, params = reg.route("poll:vote:12:3")  # type: ignore[misc]
    assert spec.prefix == "poll:vote"
    assert params == {"poll": "12", "option": "3"}
    assert reg.route("poll:vote:12") is None
    assert reg.route("meeting:rsvp:1:going") is None


def test_action_ids_hold_only_ids_and_fit_the_platforms() -> None:
    assert action_id("poll", "vote", 12, 3) == "poll:vote:12:3"
    with pytest.raises(ValueError):
        action_id("poll", "vote", "has space")
    with pytest.raises(ValueError):
        action_id("x" * 60, "y" * 60)
