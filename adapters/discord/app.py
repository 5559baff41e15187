"""The Discord adapter: a discord.py client whose interactions go to the dispatcher.

Every interaction is answered within Discord's 3 seconds: the reply itself when it is ready in
time, otherwise a deferral followed by the reply. Commands are synced on demand
(`coalition-bot discord sync`), never at start-up, because Discord rate-limits syncing.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

import aiohttp
import discord
import yarl

from adapters.discord import render
from adapters.discord.commands import command_payloads, read_interaction
from adapters.discord.components import ClickingClient, message_parts
from adapters.discord.messenger import DiscordMessenger
from adapters.discord.modals import FormModal
from adapters.discord.platform import DiscordPlatform
from adapters.discord.settings import discord_settings
from bot.app import App
from bot.config import ConfigError, Settings
from bot.i18n import _, speaking
from bot.inflight import restarting
from bot.refs import Actor, ConversationRef, MessageRef, UserRef
from bot.replies import Reply, form_target
from commands.dispatcher import Dispatcher
from commands.errors import UsageError
from commands.registry import Registry
from commands.spec import OptionType

log = logging.getLogger(__name__)
# The bot never joins voice channels: no start-up warnings about voice libraries it does not need.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False

ANSWER_BUDGET = 2.0  # seconds before we defer (Discord allows 3)
CANNOT_POST = (
    "I can't post in this channel: in its settings (Permissions), give my role View Channel, Send Messages "
    "and Embed Links"
)


def point_at(settings: Settings) -> None:
    """Aim discord.py at another REST base and gateway (tests, or a proxy)."""
    own = discord_settings(settings)
    if own.api_url:
        discord.http.Route.BASE = own.api_url.rstrip("/")
    if own.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(own.gateway_url)


class DiscordAdapter:
    platform = DiscordPlatform.name
    # After READY, how long discord.py waits for further servers before the bot counts as ready
    # (its default). Tests against the fake, which sends every server at once, wait less.
    guild_ready_timeout = 2.0

    def __init__(self, settings: Settings, app: App, dispatcher: Dispatcher) -> None:
        self.own = discord_settings(settings)
        assert self.own.bot_token
        point_at(settings)
        self.settings = settings
        self.app = app
        self.dispatcher = dispatcher
        intents = discord.Intents.none()
        intents.guilds = True
        self.client = ClickingClient(self._on_component, intents=intents, guild_ready_timeout=self.guild_ready_timeout)
        self.client.event(self.on_interaction)
        self.client.event(self.on_resumed)
        self.messenger = DiscordMessenger(self.client)
        self._task: asyncio.Task[None] | None = None

    async def on_resumed(self) -> None:
        """The gateway connection dropped and was resumed: counted for whoever watches the bot."""
        self.app.metrics.reconnects.labels(DiscordPlatform.name).inc()

    async def _health(self) -> str | None:
        if self.client.is_closed():
            return "the Discord connection is closed"
        return None if self.client.is_ready() else "not connected to the Discord gateway"

    async def start(self) -> None:
        self.app.add_messenger(self.messenger, DiscordPlatform.pacing)
        self.app.health_checks[DiscordPlatform.name] = self._health
        self.app.platform_checks[DiscordPlatform.name] = functools.partial(DiscordPlatform().doctor, self.settings)
        try:
            await login(self.client, self.settings)
        except ConfigError:
            await self.client.close()
            raise
        self._task = asyncio.create_task(self.client.connect(reconnect=True))
        ready = asyncio.create_task(self.client.wait_until_ready())
        done, _pending = await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            ready.cancel()
            try:
                self._task.result()
            except (discord.DiscordException, OSError) as exc:
                await self.client.close()
                raise ConfigError(f"DISCORD_GATEWAY_URL: could not connect to Discord's gateway ({exc})") from exc
        log.info("Discord adapter connected as %s", self.client.user)

    async def stop(self) -> None:
        await self.client.close()
        if self._task is not None:
            try:
                await self._task
            except Exception:
                log.debug("Discord connection ended with an error on close", exc_info=True)

    # Who and where ---------------------------------------------------------------------------

    def actor(self, interaction: discord.Interaction) -> Actor:
        user = interaction.user
        admin = False
        if isinstance(user, discord.Member):
            admin = user.guild_permissions.manage_guild
            wanted = self.own.coordinator_role
            if wanted and any(r.name == wanted or str(r.id) == wanted for r in user.roles):
                admin = True
        name = getattr(user, "display_name", None) or user.name
        where = UserRef(self.platform, str(interaction.guild_id or "dm"), str(user.id))
        # The language the member's Discord is set to ("es-ES", "es-419"): theirs until they choose one.
        return Actor(where, name[:80], admin, locale=str(interaction.locale) if interaction.locale else None)

    @staticmethod
    def where(interaction: discord.Interaction) -> ConversationRef:
        channel = interaction.channel
        name = getattr(channel, "name", "") or ""
        can = interaction.app_permissions  # the bot's own permissions in this channel, sent with every interaction
        problem = None
        if interaction.guild_id and not (can.view_channel and can.send_messages and can.embed_links):
            problem = CANNOT_POST
        return ConversationRef(
            DiscordPlatform.name,
            str(interaction.guild_id or "dm"),
            str(interaction.channel_id),
            name=name,
            access_problem=problem,
        )

    # Interactions --------------------------------------------------------------------------

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type == discord.InteractionType.application_command:
            await self.held(interaction, "discord command", self._on_command(interaction))
        elif interaction.type == discord.InteractionType.autocomplete:
            await self._on_autocomplete(interaction)

    async def held(self, interaction: discord.Interaction, what: str, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` holding the bot open until it has answered (a stop drains it: bot.inflight).
        Once the bot is stopping, the member is told it is restarting and nothing is done."""
        hold = self.app.inflight.admit(what)
        if hold is None:
            work.close()
            await self.answer(interaction, restarting(str(interaction.locale) if interaction.locale else None))
            return
        with hold:
            await work

    async def _on_command(self, interaction: discord.Interaction) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        registry = self.dispatcher.registry
        try:
            path, raw, _focused = read_interaction(registry, data)
        except UsageError as exc:
            await self.answer(interaction, Reply(f"⚠️ {exc.message}", private=True, error=True))
            return
        spec = registry.find(path)
        if spec is not None and spec.modal and not raw:
            with speaking(await self.dispatcher.reader_language(self.actor(interaction), self.where(interaction))):
                modal = FormModal(self, path, spec)
            await interaction.response.send_modal(modal)
            return
        actor, where = self.actor(interaction), self.where(interaction)
        await self._answer_in_time(interaction, self.dispatcher.run_command(path, raw, actor, where))

    async def _on_component(self, interaction: discord.Interaction, custom_id: str, value: str | None) -> None:
        await self.held(interaction, "discord click", self._click(interaction, custom_id, value))

    async def _click(self, interaction: discord.Interaction, custom_id: str, value: str | None) -> None:
        action_id = render.action_id_of(custom_id)
        target = form_target(action_id)
        spec = self.dispatcher.registry.find(target[0]) if target is not None else None
        if target is not None and spec is not None and spec.options:
            # A form button: the command's form, its first field filled in, in the member's language.
            with speaking(await self.dispatcher.reader_language(self.actor(interaction), self.where(interaction))):
                modal = FormModal(self, target[0], spec, {spec.options[0].name: target[1]})
            await interaction.response.send_modal(modal)
            return
        where = self.where(interaction)
        message = MessageRef(where, str(interaction.message.id)) if interaction.message else None
        reply = await self.dispatcher.run_action(
            action_id, self.actor(interaction), where, value=value, message=message
        )
        if reply.replace_original and not reply.error:
            rendered = render.message(reply)
            await interaction.response.edit_message(
                **message_parts(rendered),
            )
            return
        await self.answer(interaction, reply)

    async def _on_autocomplete(self, interaction: discord.Interaction) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        try:
            path, raw, focused = read_interaction(self.dispatcher.registry, data)
        except UsageError:
            await interaction.response.autocomplete([])
            return
        if self.app.inflight.stopping:
            await interaction.response.autocomplete([])
            return
        spec = self.dispatcher.registry.find(path)
        option = next((o for o in spec.options if o.name == focused), None) if spec else None
        typed = str(raw.get(focused or "", "") or "")
        choices: list[discord.app_commands.Choice[Any]] = []
        if option is not None:
            suggestions = await self.dispatcher.complete(
                path, option.name, typed, self.actor(interaction), self.where(interaction)
            )
            as_int = option.type == OptionType.INT
            choices = [discord.app_commands.Choice(name=n, value=int(v) if as_int else v) for n, v in suggestions]
        await interaction.response.autocomplete(choices)

    async def _answer_in_time(self, interaction: discord.Interaction, work: Any) -> None:
        task = asyncio.ensure_future(work)
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), ANSWER_BUDGET)
        except TimeoutError:
            await interaction.response.defer(ephemeral=True, thinking=True)
            reply = await task
            rendered = render.message(reply)
            if reply.private:
                await interaction.followup.send(
                    **message_parts(rendered),
                    ephemeral=True,
                    files=files_of(reply),
                )
            else:
                with speaking(reply.language):
                    done = _("Done.")
                await interaction.followup.send(content=done, ephemeral=True)
                assert interaction.channel is not None
                await interaction.channel.send(  # type: ignore[union-attr]
                    **message_parts(rendered),
                )
            return
        await self.answer(interaction, reply)

    async def answer(self, interaction: discord.Interaction, reply: Reply) -> None:
        rendered = render.message(reply)
        await interaction.response.send_message(
            **message_parts(rendered),
            ephemeral=reply.private,
            files=files_of(reply),
        )


async def login(client: discord.Client, settings: Settings) -> None:
    """Log in, or stop with one line that says what is wrong and how to fix it."""
    try:
        await client.login(discord_settings(settings).bot_token or "")
    except discord.LoginFailure as exc:
        raise ConfigError(
            "DISCORD_BOT_TOKEN: Discord refused this token. Copy it again from the Developer Portal "
            "(your application > Bot > Reset Token) into .env"
        ) from exc
    except (aiohttp.ClientConnectionError, TimeoutError) as exc:
        raise ConfigError(
            f"cannot reach Discord at {discord.http.Route.BASE} ({type(exc).__name__}): check the network "
            "connection, or DISCORD_API_URL if you set it"
        ) from exc


async def sync_commands(settings: Settings, registry: Registry, guild_id: int | None) -> Sequence[Mapping[str, Any]]:
    """Register the generated commands: in one server (instant) or everywhere (Discord may take
    up to an hour to show global changes). Needs nothing but the token: no database, no secret."""
    point_at(settings)
    intents = discord.Intents.none()
    intents.guilds = True  # without it discord.py warns, though sync uses no gateway at all
    client = discord.Client(intents=intents)
    try:
        await login(client, settings)
        app_id = client.application_id
        assert app_id is not None
        payloads = command_payloads(registry)
        try:
            if guild_id is None:
                return await client.http.bulk_upsert_global_commands(app_id, payloads)
            return await client.http.bulk_upsert_guild_commands(app_id, guild_id, payloads)
        except discord.Forbidden as exc:
            raise ConfigError(
                f"--guild {guild_id}: the bot is not in that server, or was invited without the "
                "applications.commands scope: invite it with `coalition-bot discord invite`"
            ) from exc
        except discord.HTTPException as exc:
            raise ConfigError(f"Discord refused the commands ({exc.status}: {exc.text})") from exc
    finally:
        await client.close()


def files_of(reply: Reply) -> list[discord.File]:
    return [
        discord.File(io.BytesIO(a.content), filename=a.filename, description=a.description[:1024] or None)
        for a in reply.attachments
    ]
