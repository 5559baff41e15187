"""Discord's limits on a message, as its API documents them: the renderer keeps to them, and the
platform declares the ones the bot's cards depend on (`DiscordPlatform.limits`). Kept apart from
the renderer so that declaring them does not load discord.py."""

MAX_CONTENT = 2000
MAX_DESCRIPTION = 4096
MAX_EMBED_TOTAL = 6000
MAX_EMBEDS = 10
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_ROWS = 5
MAX_BUTTONS_PER_ROW = 5
MAX_OPTIONS = 25
MAX_LABEL = 80
MAX_CUSTOM_ID = 100
SELECT_PREFIX = "s|"  # marks a select's custom_id, apart from a button's
