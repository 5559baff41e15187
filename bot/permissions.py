"""Who may do what. One check, in the dispatcher, for every adapter alike."""

from __future__ import annotations

from enum import StrEnum

from bot.i18n import N_, _


class Role(StrEnum):
    COORDINATOR = "coordinator"
    MEMBER = "member"
    OBSERVER = "observer"


class Permission(StrEnum):
    ANYONE = "anyone"  # even outside a linked channel (help)
    ADMIN = "admin"  # admins of the Slack workspace or Discord server (set-up, join)
    MEMBER = "member"  # anyone in a linked channel, observers included (reading)
    PARTICIPANT = "participant"  # members and coordinators (voting, RSVP)
    CREATOR = "creator"  # whoever created the meeting or poll, or a coordinator (the handler checks whose)
    COORDINATOR = "coordinator"  # coordinators only


_ALLOWED = {
    Permission.ANYONE: set(Role),
    Permission.ADMIN: set(Role),
    Permission.MEMBER: set(Role),
    Permission.CREATOR: {Role.MEMBER, Role.COORDINATOR},
    Permission.PARTICIPANT: {Role.MEMBER, Role.COORDINATOR},
    Permission.COORDINATOR: {Role.COORDINATOR},
}

ROLE_NAMES = {Role.COORDINATOR: N_("coordinator"), Role.MEMBER: N_("member"), Role.OBSERVER: N_("observer")}


def role_name(role: str) -> str:
    """A role as members read it, in the language in force."""
    return _(ROLE_NAMES[Role(role)]) if role in ROLE_NAMES else role


WHO = {
    Permission.ANYONE: N_("anyone"),
    Permission.ADMIN: N_(
        "admins of this workspace or server (Slack: workspace admins and owners; Discord: members with Manage Server)"
    ),
    Permission.CREATOR: N_("the member who created it or a coordinator"),
    Permission.MEMBER: N_("members of the coalition"),
    Permission.PARTICIPANT: N_("members and coordinators (observers can read but not take part)"),
    Permission.COORDINATOR: N_("coordinators"),
}


def who(permission: Permission) -> str:
    """Who may use something, in the reader's language ("coordinators", "coordinadores")."""
    return _(WHO[permission])


def allows(role: str, permission: Permission) -> bool:
    try:
        return Role(role) in _ALLOWED[permission]
    except ValueError:
        return False
