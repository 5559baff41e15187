"""The Slack adapter (slack-bolt): slash commands, Block Kit, modals, App Home, and a messenger."""
