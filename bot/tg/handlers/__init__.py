"""Thin translators from updates to answers: answers (questions, /start, /help, /search, /latest, /status,
answer buttons, inline mode), briefs (/brief), subscriptions (/subscribe, /topics toggles, /related), admin
(/reload, /stats) and pushes (related stories when a chat mentions a tracked topic).

Each handler parses the update, asks the core, the runtime or the store, renders with bot.render and
replies; state shared between updates lives in the typed context (bot.tg.context).
"""
