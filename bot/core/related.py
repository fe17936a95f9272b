"""Related stories: for an article (more like this) and for a chat message (the topics it mentions).

For an article the query is its title plus its most salient words (by tf·idf); articles sharing its topics
get a boost; the article itself and near-duplicates of it are never offered.
Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from bot.core.library import Library
from bot.core.models import Hit, TopicRelated
from bot.core.text import terms

SALIENT_TERMS = 12
TOPIC_BOOST = 0.5  # each shared topic adds half the BM25 score: topics are an editor's judgement of aboutness
NEAR_DUPLICATE_JACCARD = 0.8
CANDIDATE_POOL = 200  # best BM25 matches considered before topic boosts and duplicate filtering


def related_to_article(library: Library, article_id: str, *, limit: int = 3) -> list[Hit]:
    """Articles most similar to the given one, best first; never itself nor a near-duplicate."""
    position = library.position(article_id)
    if position is None:
        return []
    article = library.articles[position]
    title_terms = terms(article.title)
    body_counts = Counter(terms(article.body))
    salient = sorted(body_counts, key=lambda term: (-body_counts[term] * library.index.idf(term), term))
    query = list(dict.fromkeys(title_terms)) + [t for t in salient[:SALIENT_TERMS] if t not in title_terms]
    own_topics = set(library.article_topics[position])
    own_words = set(title_terms) | set(body_counts)
    # The boost re-orders a pool of the best BM25 candidates; ranking the whole archive for a
    # twenty-word query would cost far more at a million passages than the answer is worth.
    ranked, scores, passages = library.top_articles(query, CANDIDATE_POOL)
    scored: list[tuple[float, int, int, int]] = []
    for candidate, score, passage in zip(ranked.tolist(), scores.tolist(), passages.tolist(), strict=True):
        if candidate == position or _near_duplicate(library, candidate, article.title, own_words):
            continue
        shared = len(own_topics.intersection(library.article_topics[candidate]))
        scored.append((max(score, 0.0) * (1.0 + TOPIC_BOOST * shared), candidate, passage, shared))
    scored.sort(key=lambda item: (-item[0], int(library.recency_rank[item[1]])))
    hits = [
        library.hit(candidate, boosted, passage, query) for boosted, candidate, passage, _ in scored[:limit]
    ]
    if len(hits) < limit and own_topics:
        # A small archive may share no words but still share topics: fill with the newest of those.
        taken = {hit.article.id for hit in hits} | {article.id}
        for other in library.latest(limit=library.article_count):
            if len(hits) >= limit:
                break
            other_position = library.position(other.id)
            if other_position is None or other.id in taken:
                continue
            if own_topics.intersection(library.article_topics[other_position]) and not _near_duplicate(
                library, other_position, article.title, own_words
            ):
                hits.append(library.lead_hit(other_position, query))
                taken.add(other.id)
    return hits


def _near_duplicate(library: Library, candidate: int, title: str, words: set[str]) -> bool:
    other = library.articles[candidate]
    if " ".join(other.title.casefold().split()) == " ".join(title.casefold().split()):
        return True
    other_words = set(terms(other.title)) | set(terms(other.body))
    union = len(words | other_words)
    return union > 0 and len(words & other_words) / union >= NEAR_DUPLICATE_JACCARD


def related_to_message(
    library: Library, text: str, *, limit: int = 3, exclude: Collection[str] = ()
) -> list[TopicRelated]:
    """For each topic a message mentions: up to `limit` of its articles, best match first."""
    mentioned = library.matcher.mentions(text)
    if not mentioned:
        return []
    query_terms = terms(text)
    ranked, scores, _ = library.top_articles(query_terms, CANDIDATE_POOL)
    relevance = dict(zip(ranked.tolist(), scores.tolist(), strict=True))
    results: list[TopicRelated] = []
    for topic in mentioned:
        candidates = [
            position
            for position in library.topic_members.get(topic.slug, ())
            if library.articles[position].id not in exclude
        ]
        # Articles of the topic outside the pool of best matches count as irrelevant: newest first.
        candidates.sort(key=lambda p: (-relevance.get(p, 0.0), int(library.recency_rank[p])))
        hits = tuple(library.lead_hit(position, query_terms) for position in candidates[:limit])
        results.append(TopicRelated(topic=topic, hits=hits))
    return results
