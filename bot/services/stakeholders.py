"""Stakeholder mapping: members' organisations and sectors, the coalition's sector list, and the map
of who is in the coalition by sector, with the sectors it wants but lacks."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from bot.i18n import _
from bot.problems import Problem
from bot.sectors import sector_name, typed_sector
from bot.views import CoalitionView, MemberView
from storage import Repositories
from storage.models import Coalition, Member

THIN = 2  # a wanted sector with fewer members than this is "thin"
_SECTOR = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


class StakeholderProblem(Problem):
    """A profile or sector change cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class SectorRow:
    sector: str
    members: int
    platforms: Counter[str]
    organisations: Counter[str]


@dataclass(frozen=True)
class StakeholderMap:
    rows: list[SectorRow]
    unsectored: int
    missing: list[str]
    thin: list[str]
    total: int
    platforms: Counter[str] = field(default_factory=Counter)


def parse_sectors(value: list[str], what: str) -> list[str]:
    """Sector names as typed (`resident,youth`): lower case, letters, digits and dashes."""
    names = []
    for raw in value:
        name = raw.strip().lower().replace(" ", "-")
        if not _SECTOR.fullmatch(name):
            raise StakeholderProblem(
                _(
                    "'{raw}' is not a sector name {what} can use: letters, digits and dashes, up to 40 characters."
                ).format(raw=raw, what=what)
            )
        if name not in names:
            names.append(name)
    return names


class StakeholderService:
    def __init__(self, repos: Repositories) -> None:
        self.repos = repos

    def sectors(self, coalition: CoalitionView) -> list[str]:
        return list(coalition.sectors)

    def check_sector(self, coalition: Coalition, sector: str) -> str:
        name = sector.strip().lower().replace(" ", "-")
        known = self.sectors(coalition)
        if name not in known and typed_sector(sector) in known:
            name = typed_sector(sector)  # a default sector typed in Spanish ("residente")
        if name not in known:
            raise StakeholderProblem(
                _("'{sector}' is not one of this coalition's sectors: {known}.").format(
                    sector=sector, known=", ".join(sector_name(s) for s in known)
                )
            )
        return name

    async def set_profile(
        self,
        coalition: CoalitionView,
        member: MemberView,
        organisation: str | None,
        sector: str | None,
        *,
        by_self: bool,
    ) -> MemberView:
        """`by_self`: the member set it; a sector a coordinator set waits for the member to confirm
        it (by setting it themselves) before it counts in survey figures."""
        assert isinstance(coalition, Coalition)  # a view this service handed out: its row
        assert isinstance(member, Member)  # a view this service handed out: its row
        if sector is not None:
            before, member.sector = member.sector, self.check_sector(coalition, sector)
            member.sector_chosen = by_self
            if member.sector != before and coalition.id is not None:
                await self.repos.engagement.touch_all(coalition.id)  # kept days count by sector
        if organisation is not None:
            member.organisation = organisation
        return await self.repos.members.save(member)

    async def set_sectors(self, coalition: CoalitionView, sectors: list[str] | None, wanted: list[str] | None) -> None:
        assert isinstance(coalition, Coalition)  # a view this service handed out: its row
        if sectors is not None:
            names = parse_sectors(sectors, "a coalition")
            if len(names) > 20:
                raise StakeholderProblem(_("At most 20 sectors; {names} were given.").format(names=len(names)))
            in_use = {m.sector for m in await self.repos.broadcasts.members(coalition.id or 0) if m.sector}
            dropped = sorted(in_use - set(names))
            if dropped:
                raise StakeholderProblem(
                    _("Members have the sector {dropped}; keep it in the list, or change their profiles first.").format(
                        dropped=", ".join(dropped)
                    )
                )
            coalition.sectors = names
            coalition.wanted_sectors = [s for s in coalition.wanted_sectors if s in names]
        if wanted is not None:
            names = parse_sectors(wanted, "a coalition")
            unknown = [n for n in names if n not in self.sectors(coalition)]
            if unknown:
                known = ", ".join(coalition.sectors)
                raise StakeholderProblem(
                    _("'{item}' is not one of the sectors ({known}); add it with --set first.").format(
                        item=unknown[0], known=known
                    )
                )
            coalition.wanted_sectors = names
        await self.repos.coalitions.save(coalition)

    async def map(self, coalition: CoalitionView) -> StakeholderMap:
        assert coalition.id is not None
        groups = await self.repos.reports.member_groups(coalition.id)
        by_sector: dict[str, list[tuple[str, str | None, int]]] = {}
        platforms: Counter[str] = Counter()
        for sector, platform, organisation, members in groups:
            platforms[platform] += members
            if sector:
                by_sector.setdefault(sector, []).append((platform, organisation, members))
        order = self.sectors(coalition)
        rows = []
        for sector, group in sorted(
            by_sector.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0])
        ):
            on: Counter[str] = Counter()
            organisations: Counter[str] = Counter()
            for platform, organisation, members in group:
                on[platform] += members
                if organisation:
                    organisations[organisation] += members
            rows.append(SectorRow(sector, sum(on.values()), on, organisations))
        wanted = list(coalition.wanted_sectors)
        counts = {r.sector: r.members for r in rows}
        return StakeholderMap(
            rows=rows,
            unsectored=sum(members for sector, _, _, members in groups if not sector),
            missing=[s for s in wanted if counts.get(s, 0) == 0],
            thin=[s for s in wanted if 0 < counts.get(s, 0) < THIN],
            total=sum(platforms.values()),
            platforms=platforms,
        )
