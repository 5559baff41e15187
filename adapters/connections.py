"""What a broken connection to a platform means for a delivery, the same for every platform that
speaks HTTP through aiohttp (Slack's SDK and discord.py both do)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import aiohttp

from bot.messenger import DeliveryError


@contextlib.contextmanager
def connection_problems(platform: str) -> Iterator[None]:
    """Turn transport failures into DeliveryErrors. No answer (a timeout, a dropped connection)
    is `unknown`: the platform may have taken the message, so the outbox checks before resending.
    Not reaching the platform at all is a plain retry: nothing can have arrived."""
    try:
        yield
    except (TimeoutError, aiohttp.ServerDisconnectedError) as exc:
        raise DeliveryError(f"no answer from {platform} ({type(exc).__name__})", unknown=True) from exc
    except aiohttp.ClientConnectorError as exc:
        raise DeliveryError(f"cannot reach {platform} ({exc})") from exc
    except aiohttp.ClientError as exc:
        raise DeliveryError(f"connection to {platform} failed ({type(exc).__name__})", unknown=True) from exc
