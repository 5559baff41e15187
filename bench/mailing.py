"""Email benchmark (issue 29): one broadcast to 2,000 members on email, through a real SMTP server
on loopback (aiosmtpd, in another process so that its work is not on our CPU).

Beside it, in the same run and on the same server, a plain loop of aiosmtplib sends of the same
2,000 messages: the most a sender can do that only sends. Printed: our messages per second (from
the broadcast being asked to the last message accepted) against the plain loop's, the ratio
(target: at least 0.8), and whether every member got exactly one; each of a few rounds, then the
medians (one machine's other work moves a single run's figures by a third).

    python bench/mailing.py [--members 2000] [--rounds 3]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import json
import socket
import statistics
import tempfile
import time
from collections import Counter
from typing import Any

import aiosmtplib

from adapters import build_dispatcher
from adapters.email import render
from adapters.email.platform import EmailPlatform
from bot import logs
from bot.app import App
from bot.config import Settings
from bot.refs import Actor, ConversationRef, UserRef
from storage import Database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The SMTP server, played by a child process (one JSON line each way)."""

    async def start(self) -> Server:
        self.port = free_port()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--server",
            str(self.port),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        await self._read()
        return self

    async def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        return json.loads(await self.process.stdout.readline())

    async def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write((command + "\n").encode())
        await self.process.stdin.drain()
        return await self._read()

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


def serve(port: int) -> None:
    from aiosmtpd.controller import Controller

    received: Counter[str] = Counter()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            for rcpt in envelope.rcpt_tos:
                received[rcpt] += 1
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() == "reset":
            received.clear()
        print(
            json.dumps(
                {"total": sum(received.values()), "addresses": len(received), "most": max(received.values(), default=0)}
            ),
            flush=True,
        )
    controller.stop()


async def ours(server: Server, members: int, workdir: Path) -> tuple[float, list[bytes]]:
    url = f"sqlite+aiosqlite:///{workdir / 'email.db'}"
    db = Database(url)
    await db.upgrade()
    environ = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(server.port),
        "SMTP_SECURITY": "none",
        "EMAIL_FROM": "Bench Coalition <bot@example.org>",
        "EMAIL_RATE": "1000",
    }
    settings = Settings(database_url=url, http_port=0, anonymity_secret="b" * 48, environ=environ)
    app = App(settings, db)
    dispatcher = build_dispatcher(app)
    running = await EmailPlatform().start(settings, app, dispatcher)
    await app.serve_http()
    where = ConversationRef("console", "local", "general", name="general")
    admin = Actor(UserRef("console", "local", "admin"), "admin")
    await dispatcher.ensure_coalition("Bench", where, admin)
    async with app.unit_of_work() as services:
        coalition = (await services.coalitions.resolve(where)).coalition
        assert coalition is not None
        for n in range(members):
            member, _ = await services.email.add(coalition, f"member{n:05d}@example.org")
            await services.email.confirm(member)
        await services.commit()
    await app.scheduler.run_due()  # the confirmation emails go first: not part of the figure
    await server.ask("reset")
    samples: list[bytes] = []  # the messages as they went: the plain loop sends these again
    original = app.workers["email"].messenger.sender.send  # type: ignore[attr-defined]

    async def keep(mail: render.Mail, key: str) -> None:
        if len(samples) < members:
            samples.append(mail.data)
        await original(mail, key)

    app.workers["email"].messenger.sender.send = keep  # type: ignore[attr-defined]
    await app.scheduler.start()
    app.settle()
    started = time.perf_counter()
    reply = await dispatcher.run_text('/broadcast send "Road closure on Main St tomorrow"', admin, where)
    assert not reply.error, reply.text
    while (await server.ask("count"))["total"] < members:
        if time.perf_counter() - started > 600:
            break
        await asyncio.sleep(0.05)
    took = time.perf_counter() - started
    await asyncio.sleep(1.0)  # anything doubled would arrive now
    await app.scheduler.stop()
    await running.stop()
    await app.close()
    return took, samples


async def plain_loop(server: Server, messages: list[bytes]) -> float:
    started = time.perf_counter()
    for n, raw in enumerate(messages):
        await aiosmtplib.send(
            raw,
            sender="bot@example.org",
            recipients=[f"member{n:05d}@example.org"],
            hostname="127.0.0.1",
            port=server.port,
        )
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="each round: ours, then the plain loop; medians")
    parser.add_argument("--server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.server:
        serve(args.server)
        return
    logs.configure("ERROR")
    server = await Server().start()
    rounds = []
    try:
        for n in range(args.rounds):
            took, samples = await ours(server, args.members, Path(tempfile.mkdtemp()))
            got = await server.ask("count")
            await server.ask("reset")
            plain = await plain_loop(server, samples)
            plain_got = await server.ask("count")
            await server.ask("reset")
            ours_rate, plain_rate = args.members / took, len(samples) / plain
            lost, doubled = args.members - got["addresses"], got["total"] - got["addresses"]
            rounds.append((ours_rate, plain_rate, ours_rate / plain_rate, lost, doubled))
            print(
                f"  round {n + 1}: coalition-bot {got['total']:,} messages to {got['addresses']:,} addresses in "
                f"{took:.2f} s ({ours_rate:,.0f}/s); plain loop {plain_got['total']:,} in {plain:.2f} s "
                f"({plain_rate:,.0f}/s); ratio {ours_rate / plain_rate:.2f}; lost {lost}, doubled {doubled}"
            )
    finally:
        await server.stop()
    ours_rate, plain_rate, ratio = (statistics.median(r[i] for r in rounds) for i in range(3))
    lost, doubled = sum(r[3] for r in rounds), sum(r[4] for r in rounds)
    print(f"One broadcast to {args.members:,} members on email, through a loopback SMTP server (another process),")
    print(f"median of {args.rounds} rounds: coalition-bot {ours_rate:,.0f}/s, plain loop {plain_rate:,.0f}/s")
    print(f"  ratio (target at least 0.8): {ratio:.2f}; lost {lost}, doubled {doubled} (all rounds)")
    print(
        json.dumps(
            {
                "bench": "email",
                "members": args.members,
                "rounds": args.rounds,
                "messages_per_s": round(ours_rate, 1),
                "plain_loop_per_s": round(plain_rate, 1),
                "ratio": round(ratio, 2),
                "ratios": [round(r[2], 2) for r in rounds],
                "lost": lost,
                "doubled": doubled,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
