"""Slack's limits on a message (Block Kit), as its API documents them: the renderer keeps to
them, and the platform declares the ones the bot's cards depend on (`SlackPlatform.limits`)."""

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_ELEMENTS = 25  # elements of one actions block
MAX_OPTIONS = 100  # options of one static select
MAX_LABEL = 75  # a button's or an option's text
MAX_ACTION_ID = 255
MAX_TEXT = 39000  # the top-level fallback text (Slack truncates at 40,000)
