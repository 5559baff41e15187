"""The platform-agnostic core. Nothing here imports Slack or Discord, and nothing builds SQL.

- `app`: the running bot's shared parts (settings, database, clock, scheduler, delivery workers).
- `services/`: the coalition's rules (meetings, polls, surveys, broadcasts, feedback, reports, ...),
  on repositories bound to one transaction.
- `scheduler`, `due`, `delivery`: waking at the right moment; what falls due; sending the outbox.
- `clock`, `config`, `logs`, `pacing`, `permissions`, `refs`, `replies`, `markup`, `text`,
  `times`, `recurrence`, `sealing`, `spreadsheets`, `messenger`: the small vocabularies the rest
  is written in (the Messenger is the port each platform adapter implements).
"""
