"""The Discord adapter (discord.py): application commands, components, modals, and a messenger."""
