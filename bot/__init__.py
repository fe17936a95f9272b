"""Newsbot: a Telegram news assistant over a BM25-indexed news archive."""
