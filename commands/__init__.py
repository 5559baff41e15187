"""Platform-neutral commands: declarations, the text parser, the dispatcher and the handlers.

To add a command, declare a `CommandSpec` next to its handler and add it in `build_registry`;
every adapter, the help and the Slack manifest pick it up from there.
"""

from __future__ import annotations

from bot.permissions import Permission
from commands.broadcast import ACKNOWLEDGE, BROADCAST, awaiting_acknowledgement, complete_broadcast
from commands.coalition import COALITION
from commands.decision import ACTIONS as DECISION_ACTIONS
from commands.decision import DECISION
from commands.email import ACTIONS as EMAIL_ACTIONS
from commands.forms import FORM_ACTION
from commands.goal import GOAL
from commands.governance import ACTIONS as GOVERNANCE_ACTIONS
from commands.help import help_button
from commands.languages_content import ACTIONS as CONTENT_ACTIONS
from commands.meeting import CARD as MEETING_CARD
from commands.meeting import MEETING, RSVP, complete_meeting, upcoming_for_me
from commands.poll import ACTIONS as POLL_ACTIONS
from commands.poll import POLL, complete_poll, open_for_me
from commands.registry import Registry
from commands.spec import ActionSpec, Scope


def build_registry() -> Registry:
    registry = Registry()
    registry.add(COALITION)
    registry.add(BROADCAST)
    registry.add(MEETING)
    registry.add(POLL)
    registry.add(DECISION)
    registry.add(GOAL)
    registry.add_action(RSVP)
    registry.add_action(MEETING_CARD)
    registry.add_action(ACKNOWLEDGE)
    registry.add_action(FORM_ACTION)
    for action in (*POLL_ACTIONS, *GOVERNANCE_ACTIONS, *EMAIL_ACTIONS, *CONTENT_ACTIONS, *DECISION_ACTIONS):
        registry.add_action(action)
    registry.home_sections.append(upcoming_for_me)
    registry.completers.update(meeting=complete_meeting, broadcast=complete_broadcast, poll=complete_poll)
    registry.home_sections.append(awaiting_acknowledgement)
    registry.home_sections.append(open_for_me)
    registry.add_action(
        ActionSpec(
            "help:show", help_button, Permission.ANYONE, scope=Scope.ANYWHERE, params=("command",), words=("command",)
        )
    )
    return registry
