"""Everything that speaks Telegram through python-telegram-bot: the application and its start-up (app.py),
the typed handler context (context.py), sending rendered HTML (sending.py), who may manage a chat
(permissions.py), per-user question limits (ratelimit.py), alert delivery (alerts.py), the scheduled
housekeeping job (housekeeping.py) and the handlers.

Named `tg` so that `import telegram` always means python-telegram-bot. No SQL (bot.store) and no HTML
(bot.render) is written here.
"""
