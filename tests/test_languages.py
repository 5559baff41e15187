"""Languages (issue 19): the catalogs are complete and faithful to the code, members choose their
language, and each member reads replies in their own while others in the channel read theirs."""

from __future__ import annotations

import ast
import builtins
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, LOCALES, from_locale, parse_language, speaking
from bot.refs import Actor, UserRef
from bot.replies import Actions, Select
from tests.conftest import START
from tests.harness import shown
from tests.test_discord import Discord, discord_env  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]


def extracted() -> set[str]:
    """Every text the code hands to `_()` or `ngettext()`, found as `pybabel extract` finds them."""
    found: set[str] = set()
    for package in ("bot", "commands", "adapters"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package,
            method_map=[("**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.xml", "jinja2")],
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(language: str):  # type: ignore[no-untyped-def]
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_text_in_the_code_is_translated_with_the_same_placeholders(language: str) -> None:
    messages = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog(language) if m.id}
    missing = sorted(extracted() - set(messages))
    assert missing == [], f"not in the {language} catalog (run pybabel extract and update): {missing}"
    for msgid, message in messages.items():
        assert not message.fuzzy, f"{language}: a fuzzy (unchecked) translation of {msgid!r}"
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms), f"{language}: no translation of {msgid!r}"
        wanted = placeholders(msgid if isinstance(message.id, str) else message.id[1])
        for n, form in enumerate(forms):
            said = placeholders(form)
            # The form for one may leave the number out ("cada día" for "every {n} days"), as English does.
            ok = said <= wanted if isinstance(message.id, tuple) and n == 0 else said == wanted
            assert ok, f"{language}: {form!r} has other placeholders than {msgid!r}"


# Where members' texts are written: what reaches a reply, a card, a private message or an error.
MEMBER_FACING = [
    *(p for p in (ROOT / "commands").glob("*.py") if p.name != "registry.py"),  # registry: developers' errors
    *(ROOT / "bot" / "services").glob("*.py"),
    *(ROOT / "bot" / name for name in ("poll_cards.py", "times.py", "recurrence.py", "text.py", "permissions.py")),
    *(ROOT / "adapters" / platform / "modals.py" for platform in ("slack", "discord")),
]
# What a reply is made of: a text literal handed to one of these is read by a member.
SINKS = {"Reply", "Section", "Context", "Field", "Button", "Select", "SelectOption", "error", "UsageError"}


def _is_sink(call: ast.Call) -> bool:
    name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
    # The coalition's own errors (TimeProblem, CommandError...); Python's (AssertionError) are for developers.
    return name in SINKS or (name.endswith(("Problem", "Error")) and not hasattr(builtins, name))


def _literals(node: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """The literal texts that make up an expression's value without passing through `_()`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node, node.value
    elif isinstance(node, ast.JoinedStr):
        yield node, "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                yield from _literals(v.value)
    elif isinstance(node, ast.BinOp):
        yield from _literals(node.left)
        yield from _literals(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)
    elif isinstance(node, (ast.BoolOp, ast.Tuple, ast.List)):
        for value in node.values if isinstance(node, ast.BoolOp) else node.elts:
            yield from _literals(value)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
        yield from _literals(node.func.value)
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            yield from _literals(arg)


def _words(text: str) -> bool:
    """Words a member reads: not placeholders, `code`, a command example or an identifier."""
    text = re.sub(r"`[^`]*`|\{[^{}]*\}", " ", text)
    if text.lstrip().startswith("/") or re.fullmatch(r"[a-z_]+", text):
        return False
    return bool(re.search(r"[^\W\d_]{2,}", text))


def test_no_text_a_member_reads_bypasses_translation() -> None:
    """The lint the issue asks for: a text literal that reaches a reply, a card or an error without
    `_()` would reach a Spanish reader in English."""
    offenders = []
    for path in MEMBER_FACING:
        for call in ast.walk(ast.parse(path.read_text())):
            if isinstance(call, ast.Call) and _is_sink(call):
                for arg in [*call.args, *(k.value for k in call.keywords)]:
                    offenders += [
                        f"{path.relative_to(ROOT)}:{node.lineno}: {text!r}"
                        for node, text in _literals(arg)
                        if _words(text)
                    ]
    assert offenders == []


def test_no_text_is_translated_once_at_import() -> None:
    """`_()` at import time would fix a text in English for everyone: declarations use `N_()` and
    are translated where shown."""
    offenders = []
    for package in ("bot", "commands", "adapters"):
        for path in (ROOT / package).rglob("*.py"):
            pending: list[tuple[ast.AST, bool]] = [(ast.parse(path.read_text()), False)]
            while pending:
                node, in_function = pending.pop()
                in_function = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                if not in_function and isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("_", "ngettext"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                pending += [(child, in_function) for child in ast.iter_child_nodes(node)]
    assert offenders == []


def test_the_catalogs_name_files_not_lines() -> None:
    """Line numbers went stale with every edit, so an update rewrote hundreds of catalog lines that
    no text had changed in: the catalogs say which file a text is in (`--add-location=file`)."""
    for catalog in [LOCALES / "messages.pot", *LOCALES.glob("*/LC_MESSAGES/messages.po")]:
        numbered = [line for line in catalog.read_text().splitlines() if re.match(r"#: .*:\d+", line)]
        assert numbered == [], (catalog, numbered[:3])


def test_the_template_is_up_to_date() -> None:
    with (LOCALES / "messages.pot").open("rb") as pot:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot) if m.id}
    assert template == extracted(), "run `pybabel extract` (README, Languages) after changing a text"


def test_translated_texts_are_filled_after_lookup_not_before() -> None:
    """`_(f"...{x}")` would look up a text that is never in the catalog: placeholders are named and
    filled after the lookup."""
    pattern = re.compile(r"\b(?:_|ngettext)\(\s*f[\"']")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in ("bot", "commands", "adapters")
        for path in (ROOT / package).rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_no_text_to_translate_hides_inside_an_f_string() -> None:
    """`f"<b>{_('Leave')}</b>"`: the extractor (`pybabel extract`, on the Python CI runs) does not
    look inside f-strings, so the text never reaches the catalog and a Spanish reader gets English."""
    offenders = [
        f"{path.relative_to(ROOT)}:{call.lineno}: {call.args[0].value!r}"
        for package in ("bot", "commands", "adapters")
        for path in (ROOT / package).rglob("*.py")
        for joined in ast.walk(ast.parse(path.read_text()))
        if isinstance(joined, ast.JoinedStr)
        for call in ast.walk(joined)
        if isinstance(call, ast.Call)
        and getattr(call.func, "id", "") in ("_", "N_", "ngettext", "pgettext", "npgettext")
        and call.args
        and isinstance(call.args[0], ast.Constant)
    ]
    assert offenders == []


def test_every_text_a_reply_can_carry_goes_through_the_catalog() -> None:
    """A reply's text, a section, a context line, a button's label, a menu's placeholder or option,
    a field, an error, a file's description: written as a bare string or an f-string with words in
    it, it reaches a Spanish reader in English. Each must come from `_()` (or be made of values)."""
    carriers = {
        "Reply": "text",
        "Button": "label",
        "Section": "text",
        "Context": "text",
        "SelectOption": "label",
        "Select": "placeholder",
        "Field": "label",
    }
    word = re.compile(r"[A-Za-z]{3,}")
    offenders = []
    for package in ("bot", "commands", "adapters"):
        for path in (ROOT / package).rglob("*.py"):
            for call in ast.walk(ast.parse(path.read_text())):
                if not isinstance(call, ast.Call):
                    continue
                name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
                keyword = carriers.get(name or "")
                if isinstance(call.func, ast.Name) and call.func.id == "error":
                    keyword = "message"  # bot.replies.error, not a logger's
                if name == "Attachment":
                    keyword = "description"  # its file name is not read as a sentence
                if keyword is None:
                    continue
                positional = call.args[0] if call.args and name != "Attachment" else None
                arg = positional or next((k.value for k in call.keywords if k.arg == keyword), None)
                parts: list[str] = []
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    parts = [arg.value]
                elif isinstance(arg, ast.JoinedStr):
                    parts = [v.value for v in arg.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
                words = [w for part in parts for w in word.findall(part)]
                if words:
                    offenders.append(f"{path.relative_to(ROOT)}:{call.lineno}: {name} {words}")
    assert offenders == []


@pytest.mark.parametrize(
    ("typed", "code"),
    [("es", "es"), ("Español", "es"), ("spanish", "es"), ("es-419", "es"), ("EN", "en"), ("inglés", "en")],
)
def test_languages_as_members_name_them(typed: str, code: str) -> None:
    assert parse_language(typed) == code


def test_platform_locales() -> None:
    assert from_locale("es-ES") == from_locale("es-419") == "es"
    assert from_locale("en-US") == "en"
    assert from_locale("vi") is None and from_locale(None) is None


async def test_each_member_reads_replies_in_their_own_language(bot) -> None:
    maria = shown(await bot.run("/coalition language español", as_="maria"))
    assert "Listo: le escribiré en español" in maria
    assert "Le escribo en español (su elección)" in shown(await bot.run("/coalition language", as_="maria"))
    # Dana, in the same channel, still reads English.
    assert "I write to you in English (the coalition's default)" in shown(await bot.run("/coalition language"))
    refused = await bot.run("/coalition language klingon", as_="maria")
    assert refused.error and "No hablo «klingon»" in shown(refused) and "`es` (Español)" in shown(refused)
    assert "Done: I will write to you in English" in shown(await bot.run("/coalition language auto", as_="maria"))


async def test_a_platform_locale_is_followed_until_a_member_chooses(bot) -> None:
    actor = Actor(UserRef("console", "local", "lucia"), "Lucía", locale="es-419")
    reply = await bot.dispatcher.run_text("/coalition language", actor, bot.where("general"))
    assert "Le escribo en español (según la configuración de su aplicación)" in shown(reply)
    await bot.dispatcher.run_text("/coalition language en", actor, bot.where("general"))
    reply = await bot.dispatcher.run_text("/coalition language", actor, bot.where("general"))
    assert "I write to you in English (your choice)" in shown(reply)


async def test_the_coalition_default_and_a_channels_language(bot) -> None:
    refused = await bot.run("/coalition language --default es", as_="maria")
    assert refused.error and "coordinators" in shown(refused)
    assert "default language is now Spanish" in shown(await bot.run("/coalition language --default es"))
    assert "Le escribo en español (el idioma predeterminado de la coalición)" in shown(
        await bot.run("/coalition language", as_="newcomer")
    )
    linked = shown(await bot.run("/coalition link --language en", channel="town-hall"))
    assert "now linked" in linked or "ahora está vinculado" in linked
    assert "La coalición escribe aquí en inglés" in linked  # said to the coordinator, who reads Spanish now


async def test_times_are_read_in_the_members_language(bot) -> None:
    await bot.run("/coalition language es", as_="maria")
    reply = await bot.run('/meeting schedule "Foro comunitario" "martes 19:00"', as_="admin")
    assert reply.error  # Dana reads English: "martes" is not a day to her
    reply = await bot.run('/meeting schedule "Foro comunitario" "martes 19:00"', as_="maria")
    assert not reply.error, shown(reply)


async def test_help_explains_the_english_commands_in_spanish(bot) -> None:
    """Slack cannot localize slash commands: a Spanish-speaking member's help explains them."""
    await bot.run("/coalition language es", as_="maria")
    overview = shown(await bot.run("/coalition help", as_="maria"))
    assert "Los comandos se escriben en inglés" in overview
    assert "Programe reuniones" in overview and "`/meeting schedule`" in overview
    group = shown(await bot.run("/coalition help meeting", as_="maria"))
    assert "`/meeting schedule`: Programe una reunión (o una serie) y anúnciela aquí" in group
    detail = shown(await bot.run("/coalition help meeting schedule", as_="maria"))
    assert "Uso: `/meeting schedule" in detail and "Quién puede usarlo: los miembros y coordinadores" in detail
    assert "`--where`: un lugar o un enlace de videollamada (como máximo 300 caracteres; opcional)" in detail
    refused = shown(await bot.run("/coalition unlink", as_="maria"))
    assert "/coalition unlink es solo para los coordinadores." in refused
    # Dana's help, meanwhile, is English.
    assert "Who can use it: members and coordinators" in shown(await bot.run("/coalition help meeting schedule"))


def test_no_module_that_translates_rebinds_the_underscore() -> None:
    """`for x, _ in rows:` in a function makes `_` a local there: every `_()` in that function
    then fails. Comprehensions have their own scope and may use it."""
    import ast

    offenders = []
    for package in ("bot", "commands", "adapters"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            imports_it = any(
                isinstance(n, ast.ImportFrom) and n.module == "bot.i18n" and any(a.name == "_" for a in n.names)
                for n in tree.body
            )
            if not imports_it:
                continue
            comprehension_targets = {
                id(t)
                for node in ast.walk(tree)
                if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp)
                for gen in node.generators
                for t in ast.walk(gen.target)
            }
            offenders += [
                f"{path.relative_to(ROOT)}:{node.lineno}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Name)
                and node.id == "_"
                and isinstance(node.ctx, ast.Store)
                and id(node) not in comprehension_targets
            ]
    assert offenders == []


async def test_a_spanish_speaking_member_schedules_votes_is_reminded_and_reads_results_in_spanish(bot) -> None:
    """Issue 19's walk-through on the console: María reads Spanish, Dana (same channel) English."""
    from datetime import timedelta

    from tests.messengers import MemoryPlatform

    platform = MemoryPlatform()
    bot.dispatcher.app.add_messenger(platform)
    await bot.run("/coalition language es", as_="maria")
    scheduled = shown(await bot.run('/meeting schedule "Foro comunitario" "martes 19:00"', as_="maria"))
    assert "Quedó programada Foro comunitario (n.º 1) para el mar, 24 nov 2026, 19:00" in scheduled, scheduled
    assert "Anotado: Voy para Foro comunitario" in shown(await bot.run("/meeting rsvp 1 voy", as_="maria"))
    assert "Recorded: Going for Foro comunitario" in shown(await bot.run("/meeting rsvp 1 going"))

    await bot.run('/poll create "¿Qué primero?" Alumbrado Vivienda')
    voted = shown(await bot.click("poll:vote:1:0", as_="maria"))
    assert "✅ Anotado en la encuesta n.º 1: Alumbrado. Puede cambiarlo hasta que la encuesta cierre." in voted
    assert "✅ Recorded in poll #1: Vivienda" in shown(await bot.click("poll:vote:1:1"))
    results = shown(await bot.run("/poll results 1", as_="maria"))
    assert "2 personas votaron." in results and "1. Alumbrado: 1 voto, 50 %" in results
    assert "Va ganando: un empate entre Alumbrado y Vivienda." in results
    assert "2 voters." in shown(await bot.run("/poll results 1"))

    clock = bot.dispatcher.app.clock
    await bot.dispatcher.app.scheduler.advance_to(clock.now() + timedelta(days=1, hours=12))
    reminders = {p.target: shown(p.reply) for p in platform.posted if ":remind:" in p.key}
    assert "⏰ Foro comunitario empieza" in reminders["dm:maria"]
    assert "⏰ Foro comunitario starts" in reminders["dm:admin"]
    assert "starts" in reminders["general"]  # the channel's language: the coalition's, English


async def test_the_language_a_members_slack_is_set_to_is_theirs_until_they_choose(tmp_path: Path) -> None:
    from tests.test_slack import set_up, slack_env

    async with slack_env(tmp_path) as slack:
        await set_up(slack)
        slack.fake.user("UROSA", "Rosa").locale = "es-LA"
        said = (await slack.command("/coalition language", user="UROSA"))["text"]
        assert "Le escribo en español (según la configuración de su aplicación)" in said, said
        assert "I write to you in English" in (await slack.command("/coalition language"))["text"]


async def test_the_language_a_members_discord_is_set_to_is_theirs_until_they_choose(discord_env: Discord) -> None:  # noqa: F811
    from tests.test_discord import set_up, text_of

    await set_up(discord_env)
    discord_env.fake.locales["5500000000000000002"] = "es-419"
    said = text_of(await discord_env.slash("coalition", "language", member=discord_env.maria))
    assert "Le escribo en español (según la configuración de su aplicación)" in said, said
    said = text_of(await discord_env.slash("coalition", "language", language="en", member=discord_env.maria))
    assert "Done: I will write to you in English" in said


async def test_broadcast_replies_in_the_readers_language(bot) -> None:
    await bot.run("/coalition language es", as_="maria")
    await bot.run("/coalition role @maria coordinator")
    sent = shown(await bot.run('/broadcast send "Calle cerrada el sábado"', as_="maria"))
    assert "El anuncio n.º 1 sale hacia 1 canal ahora." in sent, sent
    assert "Gracias: quedó anotado que usted leyó el anuncio n.º 1." in shown(
        await bot.click("broadcast:ack:1", as_="maria")
    )
    assert "Thanks: your acknowledgement of broadcast #1 is recorded." in shown(await bot.click("broadcast:ack:1"))
    status = shown(await bot.run("/broadcast status 1", as_="maria"))
    assert "Lo confirmaron 2 miembros" in status, status


async def test_each_channel_reads_the_same_poll_and_broadcast_in_its_own_language(bot) -> None:
    """One poll, one tally, two channels: the Spanish channel's card, results and broadcast are
    Spanish, the English channel's English; the poll's reminder reaches each member in theirs."""
    from datetime import timedelta

    from tests.messengers import MemoryPlatform

    platform = MemoryPlatform()
    bot.dispatcher.app.add_messenger(platform)
    await bot.run("/coalition link --language es", channel="town-hall")
    await bot.run("/coalition language es", as_="maria")
    await bot.run("/coalition whoami", as_="jamal")
    await bot.run('/poll create "Which first?" Lighting Housing --also all')
    await bot.click("poll:vote:1:0", as_="maria")
    await bot.run('/broadcast send "Forum moved to Saturday"')
    await bot.run("/poll remind 1")
    await bot.dispatcher.app.scheduler.run_due()  # the reminders are queued (the command pokes the scheduler)
    await bot.run("/poll close 1")
    clock = bot.dispatcher.app.clock
    await bot.dispatcher.app.scheduler.advance_to(clock.now() + timedelta(seconds=5))
    said = {(p.target, p.key.split(":")[2]): shown(p.reply) for p in platform.posted if p.key.startswith("poll:")}
    cards = {target: text for (target, kind), text in said.items() if kind == "post"}
    assert "(encuesta n.º 1)" in cards["town-hall"] and "Una opción" in cards["town-hall"]
    assert "(poll #1)" in cards["general"] and "One choice" in cards["general"]
    results = {target: text for (target, kind), text in said.items() if kind == "results"}
    assert "La encuesta n.º 1 ha cerrado" in results["town-hall"] and "1 persona votó." in results["town-hall"]
    assert "Poll #1 has closed" in results["general"] and "1 voter." in results["general"]
    broadcasts = {p.target: shown(p.reply) for p in platform.posted if ":channel:" in p.key}
    assert "📣 Anuncio de " in broadcasts["town-hall"] and "📣 Broadcast from " in broadcasts["general"]
    reminders = {p.target: shown(p.reply) for p in platform.posted if ":remind:" in p.key}
    assert "todavía no ha votado" not in reminders.get("dm:maria", "")  # she voted: not reminded
    assert "🗳️ A reminder: you have not voted in poll #1 yet." in reminders["dm:jamal"]


async def test_what_the_bot_sends_later_follows_the_language_a_members_app_is_set_to(bot) -> None:
    """Lucía never typed `/coalition language`; her app says es-419. The reminder the scheduler
    sends her a day later is Spanish, as her replies were; Dana's stays English."""
    from datetime import timedelta

    from tests.messengers import MemoryPlatform

    platform = MemoryPlatform()
    bot.dispatcher.app.add_messenger(platform)
    lucia = Actor(UserRef("console", "local", "lucia"), "Lucía", locale="es-419")
    said = shown(await bot.dispatcher.run_text('/meeting schedule Foro "martes 19:00"', lucia, bot.where("general")))
    assert "Quedó programada" in said, said
    await bot.dispatcher.run_text("/meeting rsvp 1 voy", lucia, bot.where("general"))
    await bot.run("/meeting rsvp 1 going")
    clock = bot.dispatcher.app.clock
    await bot.dispatcher.app.scheduler.advance_to(clock.now() + timedelta(days=1, hours=12))
    reminders = {p.target: shown(p.reply) for p in platform.posted if ":remind:" in p.key}
    assert "⏰ Foro empieza" in reminders["dm:lucia"]
    assert "⏰ Foro starts" in reminders["dm:admin"]
    # Choosing wins over the app: she asks for English, and the next message is English.
    await bot.dispatcher.run_text("/coalition language en", lucia, bot.where("general"))
    assert "Your time zone" in shown(await bot.dispatcher.run_text("/coalition timezone", lucia, bot.where("general")))


async def test_a_spanish_member_schedules_and_reads_a_scheduling_poll(bot) -> None:  # type: ignore[no-untyped-def]
    """`/poll when` and `/poll show` of a scheduling poll crashed for every Spanish reader (a date
    skeleton Spanish does not have); the times now read as a Spanish speaker writes them."""
    await bot.run("/coalition language es")
    created = await bot.run('/poll when "Foro" "2026-12-10 18:00" "2026-12-11 18:00"')
    assert not created.error, shown(created)
    card = await bot.run("/poll show 1")
    assert not card.error, shown(card)
    menus = [
        o.label
        for b in card.blocks
        if isinstance(b, Actions)
        for e in b.elements
        if isinstance(e, Select)
        for o in e.options
    ]
    assert menus and "jue, 10 dic, 18:00" in menus[0], menus


async def test_spanish_values_are_taken_wherever_a_choice_is_typed(bot) -> None:  # type: ignore[no-untyped-def]
    """A Spanish speaker answers in Spanish: RSVPs, roles, on/off, days and repetitions."""
    from sqlalchemy import text

    await bot.run("/coalition language es")
    await bot.run("/coalition language es", as_="maria")
    scheduled = await bot.run('/meeting schedule "Foro" "martes 19:00" --every mensual')
    assert not scheduled.error, shown(scheduled)
    for typed, meant in (("voy", "going"), ('"tal vez"', "maybe"), ("quizás", "maybe"), ('"no puedo"', "no")):
        answer = await bot.run(f"/meeting rsvp 1 {typed}", as_="maria")
        assert not answer.error, (typed, shown(answer))
        async with bot.dispatcher.app.db.engine.connect() as conn:
            stored = (await conn.execute(text("SELECT answer FROM rsvps"))).scalar_one()
        assert stored == meant, (typed, stored)
    async with bot.dispatcher.app.db.engine.connect() as conn:
        rule = (await conn.execute(text("SELECT rrule FROM meetings"))).scalar_one()
    assert rule.startswith("FREQ=MONTHLY"), rule  # "mensual"
    promoted = await bot.run("/coalition role @maria coordinadora")
    assert not promoted.error, shown(promoted)
    digest = await bot.run("/coalition digest sí --day miércoles --hour 9")
    assert not digest.error, shown(digest)
    async with bot.dispatcher.app.db.engine.connect() as conn:
        role = (await conn.execute(text("SELECT role FROM members WHERE user_id = 'maria'"))).scalar_one()
        weekday = (await conn.execute(text("SELECT digest_weekday FROM channels"))).scalar_one()
    assert role == "coordinator" and weekday == 2
    wrong = await bot.run("/meeting rsvp 1 acaso", as_="maria")
    assert wrong.error and "going" in shown(wrong)  # refused, with what it takes


# What a native reviewer marked in the Spanish catalog (issue 32): each line a phrase that must not
# come back, and what is said instead.
REVIEWED = [
    ("{nth} to last day", "días antes del último", "contando desde el final"),
    (" on the {days}", "el día {days}", "el {days}"),
    ("{title} on {start} was cancelled.", "fue cancelada", "Se canceló"),
    ("Ranked choice (instant runoff)", "segunda vuelta instantánea", "se quita la menos votada"),
    ("; {count} ballot with no choice left", "papeleta", "boleta"),
    (
        "That join code is not right. Check it with the coordinator who gave it to you.",
        "código de unión",
        "código de invitación",
    ),
    ("Please press Acknowledge once you have read this.", "pulse", "toque o haga clic"),
    ("Make a member a coordinator, member or observer", "Haga de un miembro", "Asignar a un miembro el rol"),
    ("Only {who} can use {command}.", "Solo {who} pueden", "es solo para {who}"),
    ("Only {who} can {doing}.", "Solo {who} pueden", "Solo está permitido a {who}"),
]


@pytest.mark.parametrize(("msgid", "marked", "instead"), REVIEWED, ids=[r[0][:40] for r in REVIEWED])
def test_the_spanish_catalog_says_what_the_reviewer_asked(msgid: str, marked: str, instead: str) -> None:
    from babel.messages.pofile import read_po

    with (LOCALES / "es" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    message = next((m for m in catalog if (m.id if isinstance(m.id, str) else m.id[0]) == msgid), None)
    assert message is not None, msgid
    said = " ".join(message.string) if isinstance(message.string, tuple) else message.string
    assert marked not in said and instead in said, said


def test_one_word_for_each_thing_across_the_spanish_catalog() -> None:
    """A broadcast is an "anuncio", never also an "aviso"; a ballot a "boleta"; a join code a
    "código de invitación" (bot/locales/README.md, the glossary)."""
    text = (LOCALES / "es" / "LC_MESSAGES" / "messages.po").read_text()
    strings = "\n".join(line for line in text.splitlines() if line.startswith(("msgstr", '"'))).lower()
    for avoided in ("aviso", "papeleta", "código de unión", "pulse "):
        assert avoided not in strings, avoided


async def test_the_coalitions_default_is_said_of_a_time_zone_and_of_a_language_apart(bot) -> None:  # type: ignore[no-untyped-def]
    """One English phrase, two Spanish ones: a message context each (it was one msgid, right for
    the language and wrong for the time zone)."""
    await bot.run("/coalition language es")
    zone = shown(await bot.run("/coalition timezone"))
    assert "la zona horaria predeterminada de la coalición" in zone and "idioma predeterminado" not in zone, zone
    await bot.run("/coalition language auto")
    await bot.run("/coalition language --default es")
    chosen = shown(await bot.run("/coalition language"))
    assert "el idioma predeterminado de la coalición" in chosen, chosen


async def test_figures_say_their_direction_in_signs_a_screen_reader_reads(bot) -> None:  # type: ignore[no-untyped-def]
    """No ▲/▼ in what members read (a screen reader names the shape, or nothing): "+3", "-0.4";
    and the chart's missing figure reads "sin datos" in Spanish."""
    from bot.services.reports import chart_alt
    from commands.stakeholders import _change

    assert _change(0.5, 0.47) == " (+3 pts)" and _change(0.44, 0.47) == " (-3 pts)"
    with speaking("es"):
        from bot.services.reports import METRICS, Figures, Report

        nothing = Figures(0, 0, dict.fromkeys(METRICS), 0)
        alt = chart_alt("Eastside", Report(START, START, nothing, nothing, {}))
    assert "sin datos" in alt and "n/d" not in alt
    for path in (ROOT / "bot").rglob("*.py"):
        assert "▲" not in path.read_text() and "▼" not in path.read_text(), path
    for path in (ROOT / "commands").rglob("*.py"):
        assert "▲" not in path.read_text() and "▼" not in path.read_text(), path


async def test_a_spanish_refusal_shows_the_usage_in_spanish(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.run("/coalition language es")
    refused = shown(await bot.run("/meeting rsvp"))
    assert "\nUso: `/meeting rsvp" in refused and "Usage" not in refused, refused


async def test_lists_and_settings_read_in_spanish_without_english_fragments(bot) -> None:  # type: ignore[no-untyped-def]
    """`/poll list`, `/meeting actions` and `/meeting reminders` said "open; 1 voters", "due" and
    "1d, 1h ... off" in the middle of Spanish."""
    await bot.run("/coalition language es")
    await bot.run('/meeting schedule "Foro" "2026-11-25 19:00"')
    await bot.run('/poll create "Almuerzo?" Pizza Tacos')
    await bot.run("/poll vote 1 1")
    listed = shown(await bot.run("/poll list"))
    assert "(abierta; 1 persona votó)" in listed and "voters" not in listed, listed
    await bot.run('/meeting action 1 "Traer sillas" @admin --due "2026-11-25 18:00"')
    actions = shown(await bot.run("/meeting actions"))
    assert ", vence " in actions and "due" not in actions, actions
    settings = shown(await bot.run("/meeting reminders --nudge 72h"))
    assert "1 día, 1 hora antes" in settings and "3 días antes" in settings, settings
    assert not re.search(r"\b(?:off|before|1d|1h)\b", settings), settings


# Words that are English and never Spanish: one of them in what a Spanish member reads (outside
# `code`, and outside what members typed) is a fragment the catalogs missed.
ENGLISH_ONLY = re.compile(
    r"\b(?:the|and|of|with|for|from|you|your|is|are|was|ran|to|at|in|on|going|maybe|can't|due|before|after|"
    r"votes?|voters?|poll|meeting|broadcast|channels?|members?|days?|hours?|minutes?|just|now|closed|winner|"
    r"tagged|reminder|asked|nobody|off|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    r"Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"
)


def english_in(text: str) -> list[str]:
    """The English-only words of a text a Spanish member reads; code spans and typed text aside."""
    text = re.sub(r"`[^`]*`|/(?:coalition|meeting|poll|broadcast)(?: [a-z-]+)?", " ", text)  # commands stay English
    return ENGLISH_ONLY.findall(text)


def read_as_spanish(reply, typed: bool = False) -> str:  # type: ignore[no-untyped-def]
    """A reply as a Spanish member's screen shows it, times in the reply's language; what members
    typed is left out unless `typed`."""
    from zoneinfo import ZoneInfo

    from bot import markup

    text = reply.text if typed else re.sub("\ue000[^\ue001]*\ue001", "«»", reply.text)
    with speaking(reply.language):
        return markup.plain(text, ZoneInfo("UTC"), START)


async def test_a_spanish_coordinators_afternoon_reads_spanish_from_end_to_end(bot) -> None:  # type: ignore[no-untyped-def]
    """A whole session read as the Spanish speaker who tried it: replies, the cards the bot posts
    and then edits, the refusals with their usage, the audit log. It read "(0 going, 0 maybe)",
    "ahora Wednesday 25 November 2026 at 20:00", "Falta TITLE: what the meeting is", "admin ran
    ... broadcast #1 to 1 channel", and edited cards said "(in 1 day)" and "cerró 23 Nov"."""
    from datetime import timedelta

    from tests.messengers import MemoryPlatform

    platform = MemoryPlatform()
    bot.dispatcher.app.add_messenger(platform)
    await bot.run("/coalition language es --default es")
    await bot.run("/coalition language es", as_="maria")
    session = [
        ("admin", '/meeting schedule "Foro" --when "mañana a las 7 pm" --where "Biblioteca"'),
        ("admin", '/meeting schedule "Semanal" --when "martes 18:00" --every semanal'),
        ("admin", "/meeting list"),
        ("maria", "/meeting rsvp 1 voy"),
        ("admin", '/meeting edit 1 --when "pasado mañana a las 8 pm"'),
        ("admin", "/meeting rsvp"),
        ("admin", "/meeting schedule"),
        ("admin", '/poll create "¿Almuerzo?" Pizza Tacos'),
        ("maria", "/poll vote 1 1"),
        ("admin", "/poll close 1"),
        ("admin", '/broadcast send "Calle cerrada"'),
        ("admin", "/broadcast nudge 1"),
        ("admin", "/meeting attended 1"),
        ("admin", "/coalition digest on --day viernes"),
        ("admin", "/coalition audit"),
    ]
    read = {}
    for who, line in session:
        read[line] = read_as_spanish(await bot.run(line, as_=who))
    clock = bot.dispatcher.app.clock
    await bot.dispatcher.app.scheduler.advance_to(clock.now() + timedelta(seconds=5))
    posted = [read_as_spanish(reply) for p in platform.posted for reply in (p.reply, *p.edits)]

    assert "(Voy 0 · Quizás 0 · No puedo ir 0)" in read["/meeting list"]
    assert "ahora miércoles, 25 de noviembre de 2026" in read['/meeting edit 1 --when "pasado mañana a las 8 pm"'] or (
        "ahora mié, 25 nov 2026, 20:00" in read['/meeting edit 1 --when "pasado mañana a las 8 pm"']
    )
    assert "Falta NÚMERO: el número de la reunión" in read["/meeting rsvp"]
    assert 'Uso: `/meeting schedule "TÍTULO" CUÁNDO [--duration DURACIÓN]' in read["/meeting schedule"]
    audit = read_as_spanish(await bot.run("/coalition audit"), typed=True)
    assert "admin usó `/broadcast send` anuncio n.º 1 a 1 canal" in audit, audit
    assert "usó `/meeting edit` reunión #1: la hora" in audit and "anuncio n.º 1: recordatorio pedido" in audit
    assert "resumen semanal, viernes a las 09:00" in audit
    edited_card = next(text for text in posted if "Voy 1" in text)
    assert "mié, 25 nov 2026" in edited_card and "dentro de" in edited_card, edited_card
    assert any("cerró 23 nov 2026" in text for text in posted), posted
    leftovers = {line: english_in(text) for line, text in read.items() if english_in(text)}
    leftovers |= {f"posted: {text[:40]}": english_in(text) for text in posted if english_in(text)}
    assert leftovers == {}, leftovers


async def test_a_bilingual_coalition_writes_once_per_language_and_each_reads_their_own(bot) -> None:  # type: ignore[no-untyped-def]
    """`--es`: a broadcast, a poll and a meeting written in English and Spanish; a Spanish channel
    and member read the Spanish, an English one the English, one tally, one RSVP list, and the
    other version a click away."""
    from datetime import timedelta

    from tests.messengers import MemoryPlatform

    platform = MemoryPlatform()
    app = bot.dispatcher.app
    app.add_messenger(platform)
    await bot.run("/coalition link --language es", channel="vecinos")
    await bot.run("/coalition language es", as_="maria")
    sent = await bot.run('/broadcast send "Road closed on Main St" --es "Calle Main cerrada"')
    assert not sent.error, shown(sent)
    created = await bot.run('/poll create "Lunch?" Pizza Tacos --also all --es "¿Almuerzo? | Pizza | Tacos al pastor"')
    assert not created.error, shown(created)
    scheduled = await bot.run(
        '/meeting schedule "Budget review" "2026-11-25 18:00" --where Library --also all '
        '--es "Revisión del presupuesto | Biblioteca"'
    )
    assert not scheduled.error, shown(scheduled)
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=5))
    posted = {(p.target, p.key.split(":")[0]): p.reply for p in platform.posted if ":dm:" not in p.key}
    english, spanish = (
        {kind: shown(reply) for (target, kind), reply in posted.items() if target == channel}
        for channel in ("general", "vecinos")
    )
    assert "Road closed on Main St" in english["broadcast"] and "Calle Main cerrada" in spanish["broadcast"]
    assert "Lunch?" in english["poll"] and "Tacos al pastor" in spanish["poll"] and "Tacos al" not in english["poll"]
    assert "Budget review" in english["meeting"] and "Revisión del presupuesto" in spanish["meeting"]
    assert "Dónde: Biblioteca" in spanish["meeting"] and "Where: Library" in english["meeting"]
    # The other version, a click away: the button names it in its own language.
    labels = {target: [b.label for b in reply.buttons] for (target, kind), reply in posted.items() if kind == "poll"}
    assert "Español" in labels["general"] and "English" in labels["vecinos"]
    other = shown(await bot.click("content:other:poll:1", as_="maria"))
    assert other.startswith("In English:") and "Lunch?" in other and "2. Tacos" in other
    assert "En español:" in shown(await bot.click("content:other:broadcast:1", as_="jamal"))
    # One tally: a vote from each channel counts in the same poll.
    await bot.click("poll:vote:1:1", as_="maria", channel="vecinos")
    await bot.click("poll:vote:1:1", as_="jamal")
    assert "Tacos al pastor: 2 votos" in shown(await bot.run("/poll results 1", as_="maria"))
    # Refused, with the usage: both languages; the author's own; the wrong number of parts.
    both = await bot.run('/broadcast send "x" --es "y" --en "z"')
    assert both.error and "not both" in shown(both) and "Usage" in shown(both)
    own = await bot.run('/broadcast send "x" --en "y"')
    assert own.error and "You write in English already" in shown(own)
    short = await bot.run('/poll create "Lunch?" Pizza Tacos --es "¿Almuerzo? | Pizza"')
    assert short.error and "each of the 2 options" in shown(short)


async def test_every_help_example_is_written_for_its_reader_and_reads_as_the_command_it_shows(bot) -> None:  # type: ignore[no-untyped-def]
    """Help showed a Spanish reader `/broadcast send "Community walk moved to Saturday 10am"`. Each
    example is now in the reader's words, and each one, in either language, is read by the
    parser as typed (times, values and all): an example that fails would teach a wrong command."""
    from zoneinfo import ZoneInfo

    from bot import i18n
    from commands.parser import ParseContext, parse

    registry = bot.dispatcher.registry
    platform = bot.dispatcher._platform(bot.where("general"))
    examples = [e for _path, spec in registry.leaves() for e in spec.examples]
    assert len(examples) > 40
    for code in ("en", "es"):
        with speaking(code):
            for example in examples:
                typed = i18n._(example)
                parse(registry, typed, ParseContext(ZoneInfo("America/Chicago"), START), platform=platform)
    with speaking("es"):
        spanish = [i18n._(e) for e in examples]
    assert '/broadcast send "La caminata comunitaria pasa al sábado a las 10"' in spanish
    assert "/meeting rsvp 12 voy" in spanish
    assert not any("Community" in e or "next tuesday" in e for e in spanish)
    await bot.run("/coalition language es")
    assert "`/meeting rsvp 12 voy`" in shown(await bot.run("/coalition help meeting rsvp"))


async def test_the_default_sectors_read_and_are_typed_in_spanish(bot) -> None:  # type: ignore[no-untyped-def]
    """`/coalition sectors` read "law-enforcement, local-government, ..." to a Spanish reader, and
    "--sector residente" was refused."""
    await bot.run("/coalition language es")
    listed = shown(await bot.run("/coalition sectors"))
    assert "fuerzas del orden" in listed and "residentes" in listed and "law-enforcement" not in listed, listed
    taken = await bot.run("/coalition profile --sector residente")
    assert not taken.error and "sector residentes" in shown(taken), shown(taken)
    await bot.run("/coalition profile --sector Policía", as_="maria")
    mapped = shown(await bot.run("/coalition map"))
    assert "residentes" in mapped and "fuerzas del orden" in mapped, mapped
    async with bot.dispatcher.app.unit_of_work() as services:  # kept as the coalition's own names
        coalition = (await services.coalitions.resolve(bot.where("general"))).coalition
        sectors = {m.sector for m in await services.repos.broadcasts.members(coalition.id)}  # type: ignore[union-attr]
    assert {"resident", "law-enforcement"} <= sectors
    refused = await bot.run("/coalition profile --sector astronautas")
    assert refused.error and "jóvenes" in shown(refused)
    assert "law-enforcement" in shown(await bot.run("/coalition sectors", as_="jamal"))  # English readers: as kept
