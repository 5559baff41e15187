"""The coalition's tables.

A coalition spans spaces (a Slack workspace, a Discord server, the local console); channels in
those spaces are linked to it with tags; members are platform identities with a role in it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Coalition(SQLModel, table=True):
    __tablename__ = "coalitions"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Space(SQLModel, table=True):
    """A Slack workspace, a Discord server or the console, joined to exactly one coalition."""

    __tablename__ = "spaces"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", name="uq_space_platform_workspace"),)

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    platform: str = Field(max_length=16)
    workspace_id: str = Field(max_length=64)
    name: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Channel(SQLModel, table=True):
    """A channel linked to the coalition; tags let broadcasts reach a part of it."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", "channel_id", name="uq_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    space_id: int = Field(foreign_key="spaces.id", index=True)
    platform: str = Field(max_length=16)
    workspace_id: str = Field(max_length=64)
    channel_id: str = Field(max_length=64)
    name: str = Field(default="", max_length=100)
    tags: str = Field(default="", max_length=500)
    linked_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]


class Member(SQLModel, table=True):
    """One platform identity in one coalition (a person on Slack and on Discord is two members)."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("coalition_id", "platform", "workspace_id", "user_id", name="uq_member_identity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    platform: str = Field(max_length=16)
    workspace_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    display_name: str = Field(default="", max_length=80)
    role: str = Field(default="member", max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    organisation: str | None = Field(default=None, max_length=100)
    sector: str | None = Field(default=None, max_length=40)
    joined_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
