"""Seeded benchmark questions derived from BBC News: salient words of random passages, and headlines.

A "passage" question picks 2–5 of a real passage's rarer words (weighted by idf, as a reader would
pick the telling words) in their written form, sometimes inside a question frame; a "title" question
is a real headline, whole or in part. Both are text, analysed exactly as the bot analyses questions.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass

from bench.synth import RealCorpus
from bot.core.library import split_passages
from bot.core.text import analyze, terms

_FRAMES = ("{}", "{}", "{}?", "what about {}?", "why did {}?", "how is {} going?", "news on {}")


@dataclass(frozen=True, slots=True)
class Question:
    """One benchmark question: its text and the terms the analyzer makes of it."""

    text: str
    terms: tuple[str, ...]
    kind: str  # "passage" or "title"


def make_questions(real: RealCorpus, count: int, seed: int) -> list[Question]:
    """`count` questions (about three in four from passages, the rest headlines), none without terms."""
    rng = random.Random(seed)
    doc_freq: Counter[str] = Counter()
    for analysed_passage in real.passages:
        doc_freq.update(set(analysed_passage))
    n = len(real.passages)
    idf = {term: math.log((n + 1) / (df + 0.5)) for term, df in doc_freq.items()}
    out: list[Question] = []
    while len(out) < count:
        article = rng.choice(real.articles)
        if rng.random() < 0.25:
            words = article.title.split()
            if len(words) > 4 and rng.random() < 0.5:
                start = rng.randrange(len(words) - 3)
                words = words[start : start + rng.randint(2, 4)]
            text, kind = " ".join(words), "title"
        else:
            passage = rng.choice(split_passages(article))
            surface: dict[str, str] = {}
            for token in analyze(passage.text):
                surface.setdefault(token.term, passage.text[token.start : token.end])
            if len(surface) < 2:
                continue
            pick = min(rng.randint(2, 5), len(surface))
            chosen: list[str] = []
            candidates = list(surface)
            weights = [idf.get(term, 1.0) ** 2 for term in candidates]
            while len(chosen) < pick:
                term = rng.choices(candidates, weights)[0]
                if term not in chosen:
                    chosen.append(term)
            text = rng.choice(_FRAMES).format(" ".join(surface[term] for term in chosen))
            kind = "passage"
        analysed = tuple(terms(text))
        if analysed:
            out.append(Question(text, analysed, kind))
    return out
