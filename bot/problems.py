"""The one kind of error a member can cause: what they asked for cannot be done.

Every service's problem (a closed poll, an unknown tag, a time in the past) is a `Problem` whose
message says what was wrong in plain words. The dispatcher answers any that a handler lets through
as an error reply and writes nothing; a handler catches one itself only to add the command's
usage to the answer.
"""

from __future__ import annotations


class Problem(ValueError):
    """Something a member asked for cannot be done; the message says why, for the member."""
