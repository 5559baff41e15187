"""The platform-agnostic core: services, the command dispatcher, the clock and the scheduler.

Nothing here imports Slack or Discord; adapters turn platform events into calls on `bot.core.Bot`.
"""
