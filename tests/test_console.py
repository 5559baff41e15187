"""The console adapter as a member uses it: the installed `coalition-bot` script, fed through a pipe."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest


def coalition_bot() -> list[str]:
    script = Path(sys.executable).with_name("coalition-bot")
    if script.exists():
        return [str(script)]
    found = shutil.which("coalition-bot")
    return [found] if found else [sys.executable, "-m", "adapters.cli"]


def console(
    tmp_path: Path, script: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "DATABASE_URL"))}
    environment.update(env or {})
    return subprocess.run(
        [*coalition_bot(), *args],
        input=script,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=90,
    )


def lines(done: subprocess.CompletedProcess[str]) -> list[dict]:
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def messages(done: subprocess.CompletedProcess[str]) -> list[dict]:
    return [m for m in lines(done) if m["type"] == "message"]


def test_help_as_json_lines_and_exit_zero(tmp_path: Path) -> None:
    done = console(tmp_path, "/coalition help\n", "console", "--json")
    out = messages(done)
    assert len(out) == 1
    help_msg = out[0]
    assert help_msg["private"] is True and help_msg["user"] == "admin" and help_msg["channel"] == "general"
    assert "/coalition link" in help_msg["text"]
    assert help_msg["buttons"] == [
        {"n": 1, "label": "Help: /broadcast", "action_id": "help:show:broadcast"},
        {"n": 2, "label": "Help: /coalition", "action_id": "help:show:coalition"},
        {"n": 3, "label": "Help: /decision", "action_id": "help:show:decision"},
        {"n": 4, "label": "Help: /goal", "action_id": "help:show:goal"},
        {"n": 5, "label": "Help: /meeting", "action_id": "help:show:meeting"},
        {"n": 6, "label": "Help: /poll", "action_id": "help:show:poll"},
    ]
    assert help_msg["message_id"] == "m1"
    assert (tmp_path / "coalition.db").exists()  # the default database, in the working directory


def test_a_scripted_session_with_clicks_members_and_channels(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "/coalition help",
            '!click "Help: /coalition"',
            "!click 1",
            "!as maria",
            "/coalition whoami",
            "/coalition link --tags residents",
            "!as admin",
            "!channel eastside",
            "/coalition link --tags residents,youth",
            "/coalition channels",
        ]
    )
    everything = lines(console(tmp_path, script + "\n", "console", "--json", "--db", str(tmp_path / "s.db")))
    out = [m for m in everything if m["type"] == "message"]
    texts = [m["text"] for m in out]
    # The help button edits the help message in place (same id, edit_of set)...
    assert out[1]["edit_of"] == out[1]["message_id"] == out[0]["message_id"] == "m1"
    assert "• `/coalition link`: Link this channel" in texts[1]
    assert out[1]["buttons"] == []
    # ...so the second click finds no buttons left and says so instead of pressing anything.
    assert any(m["type"] == "console" and "no message with buttons" in m["text"] for m in everything)
    assert "You are maria, a member of Our coalition" in texts[2]
    assert out[3]["error"] and "Only coordinators can use /coalition link" in texts[3]
    assert out[4]["channel"] == "eastside" and not out[4]["private"]
    assert "#eastside on console (tags: residents, youth)" in texts[5]
    assert (tmp_path / "s.db").exists() and not (tmp_path / "coalition.db").exists()


def test_state_survives_a_restart_on_the_same_database(tmp_path: Path) -> None:
    db = str(tmp_path / "keep.db")
    console(
        tmp_path,
        "/coalition timezone America/Chicago\n!channel ops\n/coalition link\n",
        "console",
        "--json",
        "--db",
        db,
    )
    again = lines(console(tmp_path, "/coalition whoami\n/coalition channels\n", "console", "--json", "--db", db))
    assert not any(m["type"] == "console" and "Started" in m["text"] for m in again)
    texts = [m["text"] for m in again if m["type"] == "message"]
    assert "Time zone: America/Chicago (yours)" in texts[0]
    assert "#ops on console" in texts[1]


def test_simulated_clock_moves_with_advance(tmp_path: Path) -> None:
    script = "!now\n!advance 25h\n!now\n!advance soon\n"
    out = lines(
        console(
            tmp_path,
            script,
            "console",
            "--json",
            "--clock",
            "simulated",
            "--start",
            "2026-12-01T09:00:00+00:00",
        )
    )
    notes = [m["text"] for m in out if m["type"] == "console"]
    assert "It is Tue 01 Dec 2026, 09:00 UTC." in notes
    assert any(n.startswith("Clock advanced 1d1h to Wed 02 Dec 2026, 10:00 UTC") for n in notes)
    assert "It is Wed 02 Dec 2026, 10:00 UTC." in notes
    problems = [m for m in out if m["type"] == "console" and m["error"]]
    assert len(problems) == 1 and "not a duration" in problems[0]["text"]


def test_advance_needs_the_simulated_clock(tmp_path: Path) -> None:
    out = lines(console(tmp_path, "!advance 1h\n", "console", "--json"))
    assert any(m["type"] == "console" and m["error"] and "--clock simulated" in m["text"] for m in out)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("!click 1", "no message with buttons"),
        ("!as", "Give a name"),
        ("!as bad name!", "Give a name"),
        ("!dance", "no console command '!dance'"),
        ("hello", "Commands start with /"),
    ],
)
def test_console_mistakes_get_friendly_notes(tmp_path: Path, line: str, says: str) -> None:
    out = lines(console(tmp_path, line + "\n", "console", "--json"))
    problems = [m for m in out if m.get("error")]
    assert problems and says in problems[-1]["text"]


def test_text_mode_shows_buttons_and_echoes_scripted_input(tmp_path: Path) -> None:
    done = console(tmp_path, "/coalition help\n/coalition nope\n", "console")
    assert done.returncode == 0
    assert "admin@#general> /coalition help" in done.stdout
    assert "[1] Help: /broadcast  [2] Help: /coalition  [3] Help: /decision  [4] Help: /goal  [5] Help: /meeting" in (
        done.stdout
    )
    assert "⚠️ '/coalition' has no subcommand 'nope'." in done.stdout
    assert "Usage: `/coalition help|setup|whoami|timezone|language|link|unlink|invite|join|channels|" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_run_without_tokens_says_so_and_starts_the_console(tmp_path: Path) -> None:
    done = console(tmp_path, "/coalition whoami\n", "run")
    assert done.returncode == 0
    assert "No Slack, Discord or email credentials are set" in done.stderr
    assert f"starting the console with the database {tmp_path.resolve() / 'coalition.db'}" in done.stderr
    assert f"(anonymity secret: {tmp_path.resolve() / 'coalition.db.secret'})" in done.stderr
    assert "You are admin, a coordinator of Our coalition." in done.stdout


def test_database_url_from_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///from-dotenv.db\nCOALITION_NAME=Eastside Safety\n")
    out = lines(console(tmp_path, "/coalition whoami\n", "console", "--json"))
    assert "coordinator of Eastside Safety" in messages_text(out)
    assert (tmp_path / "from-dotenv.db").exists()


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    url = {"DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}"}
    up = console(tmp_path, "", "db", "upgrade", env=url)
    assert up.returncode == 0 and "is at revision" in up.stdout
    cur = console(tmp_path, "", "db", "current", env=url)
    assert cur.returncode == 0 and "up to date" in cur.stdout


def messages_text(out: list[dict]) -> str:
    return "\n".join(m["text"] for m in out if m["type"] == "message")


def test_a_scheduled_broadcast_session_on_the_simulated_clock(tmp_path: Path) -> None:
    """Issue 5's walk-through: link three channels with tags, schedule a broadcast to one tag,
    advance the clock, see it delivered once to the right channels, two members acknowledge."""
    script = "\n".join(
        [
            "!channel eastside",
            "/coalition link --tags residents",
            "!channel northside",
            "/coalition link --tags residents,youth",
            "!channel police",
            "/coalition link --tags police",
            '/broadcast send "Community walk moved to Saturday 10am" --to residents --at "friday 9am"',
            "!advance 5d",
            "!as maria",
            "!channel eastside",
            "!click Acknowledge",
            "!as jamal",
            "!channel northside",
            "!click 1",
            "!as admin",
            "/broadcast status 1",
        ]
    )
    out = lines(
        console(
            tmp_path, script + "\n", "console", "--json", "--clock", "simulated", "--start", "2026-11-23T09:00:00+00:00"
        )
    )
    posts = [m for m in out if m["type"] == "message" and "Community walk" in m["text"] and not m["private"]]
    assert sorted(m["channel"] for m in posts) == ["eastside", "northside"]
    assert all(m["buttons"][0]["label"] == "Acknowledge" for m in posts)
    notes = [m["text"] for m in out if m["type"] == "console"]
    assert any("Clock advanced 5d" in n for n in notes)
    report = [m for m in out if m.get("user") == "admin" and "📬" in m["text"]]
    assert report[-1]["text"] == "📬 Broadcast #1: delivered 2 of 2 channels. Done."
    thanks = [m for m in out if "acknowledgement of broadcast #1 is recorded" in m["text"]]
    assert [m["user"] for m in thanks] == ["maria", "jamal"]
    status = out[-1]["text"]
    assert "Delivered 2 · pending 0 · failed 0 · cancelled 0" in status
    assert "Acknowledged by 2 members" in status
    assert "By channel: #eastside 1, #northside 1" in status


def test_roles_audit_and_data_rights_session(tmp_path: Path) -> None:
    """Issue 8's walk-through: refused, promoted, allowed, both in the audit; my-data; forget-me."""
    script = "\n".join(
        [
            "!as maria",
            '/broadcast send "Street fair on Sunday"',
            "!as admin",
            "/coalition role @maria coordinator",
            "!as maria",
            '/broadcast send "Street fair on Sunday"',
            "/coalition audit",
            "/coalition my-data",
            "!as jamal",
            "/coalition whoami",
            "/coalition forget-me",
            "!click 1",
            "!as maria",
            "/coalition audit",
        ]
    )
    out = messages(console(tmp_path, script + "\n", "console", "--json", "--clock", "simulated"))
    texts = [m["text"] for m in out]
    assert out[0]["error"] and "Only coordinators can use /broadcast send" in texts[0]
    assert "maria is now a coordinator (was member)" in texts[1]
    audit = next(t for t in texts if t.startswith("Coordinator actions"))
    assert "admin ran `/coalition role` maria: member → coordinator" in audit
    assert "maria ran `/broadcast send` broadcast #1 to 1 channel" in audit
    export = next(m for m in out if m.get("attachments"))
    data = json.loads((tmp_path / export["attachments"][0]).read_text())
    assert data["you"]["user_id"] == "maria" and data["you"]["role"] == "coordinator"
    erased = next(m for m in out if "everything the bot held about you is erased" in m["text"])
    assert erased["edit_of"] and erased["user"] == "jamal"


def test_weekly_meeting_session_on_the_simulated_clock(tmp_path: Path) -> None:
    """Issue 6's walk-through: a weekly meeting, three RSVPs, reminders once each in the right places,
    one occurrence cancelled: its reminders do not fire, the next one's do."""
    script = "\n".join(
        [
            '/meeting schedule "Safety walk" "tuesday 7pm" --every weekly --where "Library steps"',
            "!as maria",
            "!click Going",
            "!as jamal",
            "!click Maybe",
            "!as lee",
            "/meeting rsvp 1 no",
            "!advance 2d",
            "!as admin",
            "/meeting cancel 1",  # the next one: 1 December
            "!advance 14d",
        ]
    )
    out = messages(
        console(
            tmp_path, script + "\n", "console", "--json", "--clock", "simulated", "--start", "2026-11-23T09:00:00+00:00"
        )
    )
    reminders = [m for m in out if m["text"].startswith("⏰")]
    places = Counter(
        (
            m.get("channel") if not m["private"] else "dm:" + m["user"],
            "#1" if "24 Nov" in m["text"] else "#3" if "08 Dec" in m["text"] else "other",
        )
        for m in reminders
    )
    assert places == {
        ("general", "#1"): 2,
        ("dm:maria", "#1"): 2,
        ("dm:jamal", "#1"): 2,
        ("general", "#3"): 2,
    }
    assert not any("01 Dec" in m["text"] for m in reminders)  # the cancelled occurrence


def test_anonymous_poll_session_on_the_simulated_clock(tmp_path: Path) -> None:
    """Issue 7's walk-through: an anonymous poll with a deadline, five voters, one changed vote,
    results posted once at the deadline, a late vote refused, and no voter identity on disk."""
    script = "\n".join(
        [
            '/poll create "Should the forum move to evenings?" Yes No Unsure --anonymous --closes "in 2 days"',
            "!advance 1s",
            "!as maria",
            "!click Yes",
            "!as jamal",
            "!click Yes",
            "!as lee",
            "!click No",
            "!as ana",
            "!click Unsure",
            "!as sam",
            "!click No",
            "!as lee",
            "!click Yes",
            "!advance 3d",
            "!as maria",
            "/poll vote 1 2",
        ]
    )
    out = messages(
        console(
            tmp_path, script + "\n", "console", "--json", "--clock", "simulated", "--start", "2026-11-23T09:00:00+00:00"
        )
    )
    recorded = [m for m in out if m["text"].startswith("✅ Recorded in poll #1")]
    assert len(recorded) == 6 and all(m["private"] for m in recorded)
    assert "Recorded in poll #1: No" in recorded[2]["text"] and "Recorded in poll #1: Yes" in recorded[5]["text"]
    finals = [m for m in out if m["text"].startswith("🏁 Poll #1 has closed")]
    assert len(finals) == 1 and finals[0]["channel"] == "general"
    assert "5 voters." in finals[0]["text"]
    assert "1. Yes: 3 votes, 60% `██████░░░░`" in finals[0]["text"]
    assert "2. No: 1 vote, 20% `██░░░░░░░░`" in finals[0]["text"]
    assert "3. Unsure: 1 vote, 20% `██░░░░░░░░`" in finals[0]["text"]
    assert "Winner: Yes." in finals[0]["text"]
    assert "votes are no longer taken" in out[-1]["text"] and out[-1]["private"]
    # The card's last edit shows the same count, and its ballot buttons are gone.
    card_edits = [m for m in out if m.get("edit_of") and "(poll #1)" in m["text"]]
    assert "5 voters · closed" in card_edits[-1]["text"] and card_edits[-1]["buttons"] == []

    import sqlite3

    with sqlite3.connect(tmp_path / "coalition.db") as conn:
        ballots = conn.execute("SELECT poll_id, voter_key, member_id, choices, cast_at FROM ballots").fetchall()
        keys = conn.execute("SELECT * FROM poll_keys").fetchall()
        (final,) = conn.execute("SELECT final_tally FROM polls WHERE id = 1").fetchone()
    # Closed: the ballots and the keys that could open or link them are gone; the count remains.
    assert ballots == [] and keys == []
    assert json.loads(final)["counts"] == [3, 1, 1] and json.loads(final)["voters"] == 5
    assert (tmp_path / "coalition.db.secret").exists()


def test_multiple_choice_menu_in_the_console(tmp_path: Path) -> None:
    script = (
        '/poll create "What to bring?" Chairs Tables Snacks --kind multiple\n!advance 1s\n!click 1,3\n/poll show 1\n'
    )
    out = messages(console(tmp_path, script, "console", "--json", "--clock", "simulated"))
    out = [m for m in out if not m.get("edit_of")]
    assert "Recorded in poll #1: Chairs and Snacks" in out[-2]["text"]
    assert "Your vote: Chairs, Snacks." in out[-1]["text"]


def test_stakeholder_map_and_engagement_report_session(tmp_path: Path) -> None:
    """Issue 9's walk-through: a small coalition across sectors, a meeting, a poll and a broadcast;
    the report's figures (worked out by hand: 3 members, 1 meeting, 2 attended = 67%, 2 RSVPs = 67%,
    2 ballots = 67%, 1 acknowledgement = 33%, 2 active = 67%) and its chart; the map's gaps."""
    from PIL import Image

    script = "\n".join(
        [
            '/coalition profile --organisation "City Police" --sector law-enforcement',
            "!as maria",
            '/coalition profile --organisation "Eastside Tenants" --sector resident',
            "!as lee",
            '/coalition profile --organisation "Youth Council" --sector youth',
            "!as admin",
            '/meeting schedule "Safety walk" "in 1 hour"',
            '/poll create "Venue?" Library Online',
            '/broadcast send "Road closure on Main St"',
            "!advance 1s",
            "!as maria",
            "/meeting rsvp 1 going",
            "/poll vote 1 1",
            '!click "Acknowledge"',
            "!as lee",
            "/meeting rsvp 1 maybe",
            "/poll vote 1 2",
            "!as admin",
            "!advance 2h",
            "/meeting attended 1 @maria @lee",
            "/coalition report --since 30d --csv",
            "/coalition map",
        ]
    )
    out = messages(
        console(
            tmp_path, script + "\n", "console", "--json", "--clock", "simulated", "--start", "2026-11-23T09:00:00+00:00"
        )
    )
    report = next(m for m in out if m["text"].startswith("📈"))
    assert "Members: 3 · meetings held: 1 (+1) · active members: 2 of 3" in report["text"]
    assert (
        "Attendance rate 67% · RSVP rate 67% · Poll participation 67% · Decision participation n/a · "
        "Acknowledgement rate 33% · Active members 67%"
    ) in report["text"]
    png = tmp_path / "exports" / f"{report['message_id']}-engagement-2026-11-23.png"
    image = Image.open(png).convert("RGB")
    assert image.size == (900, 550)
    colours = {colour: count for count, colour in image.getcolors(maxcolors=1_000_000) or []}
    assert colours.get((0x2C, 0x5F, 0x2D), 0) > 5_000
    assert (tmp_path / "exports" / f"{report['message_id']}-engagement-2026-11-23.csv").exists()
    the_map = out[-1]["text"]
    assert "Missing: local-government, nonprofit, business, school, faith" in the_map


def test_piped_input_on_the_real_clock_keeps_its_order(tmp_path: Path) -> None:
    """A script piped in on the real clock reads like a session: each line's deliveries come before
    the next line, so `!click 2` presses the card just posted, and the last line's are not lost."""
    script = '/poll create "Lunch?" Pizza Salad\n!click 2\n/poll results 1\n/broadcast send "See you at noon"\n'
    out = messages(console(tmp_path, script, "console", "--json"))
    card = next(i for i, m in enumerate(out) if "Lunch?" in m["text"] and m["buttons"])
    assert out[card]["buttons"][1]["label"] == "Salad"
    results = next(m for m in out if "1 voter" in m["text"])
    assert "2. Salad: 1 vote, 100%" in results["text"], results["text"]
    assert any("See you at noon" in m["text"] and not m["private"] for m in out), [m["text"] for m in out]


def test_a_data_folder_holds_the_database_wherever_the_bot_is_started(tmp_path: Path) -> None:
    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    data.mkdir()
    elsewhere.mkdir()
    done = console(elsewhere, "/coalition whoami\n", "run", env={"COALITION_DATA_DIR": str(data)})
    assert done.returncode == 0, done.stderr
    assert f"the database {data.resolve() / 'coalition.db'}" in done.stderr
    assert (data / "coalition.db").exists() and (data / "coalition.db.secret").exists()
    assert not (elsewhere / "coalition.db").exists()
    missing = console(elsewhere, "", "run", env={"COALITION_DATA_DIR": str(tmp_path / "nowhere")})
    assert missing.returncode == 2 and "COALITION_DATA_DIR: " in missing.stderr and "is not a folder" in missing.stderr
