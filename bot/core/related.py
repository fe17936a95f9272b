"""Related stories: for an article (more like this) and for a chat message (the topics it mentions).

For an article the query is its title plus its most salient words (by tf·idf), ranked over whole articles;
articles sharing its topics get a boost; the article itself and near-duplicates of it are never offered.
For a message only its first MESSAGE_CHARS are read and its MESSAGE_TERMS rarest terms asked for, so
what one chat message costs is bounded however long or wordy it is.
Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from bot.core.library import Library
from bot.core.models import Hit, Topic, TopicRelated
from bot.core.text import terms

SALIENT_TERMS = 30  # the article's most telling words (tf·idf): enough to say what it is about
TOPIC_BOOST = 0.5  # each shared topic adds half the BM25 score: topics are an editor's judgement of aboutness
NEAR_DUPLICATE_JACCARD = 0.8
CANDIDATE_POOL = 200  # best BM25 matches considered before topic boosts and duplicate filtering
# Of a chat message (up to 4,096 characters), only the start is read for topics and related stories: a
# few sentences say what it is about, and the rest would cost time every other chat waits for.
MESSAGE_CHARS = 1_000
MESSAGE_TERMS = 12  # the message's rarest distinct terms make the related-story query


def related_to_article(library: Library, article_id: str, *, limit: int = 3) -> list[Hit]:
    """Articles most similar to the given one, best first; never itself nor a near-duplicate."""
    position = library.position(article_id)
    if position is None:
        return []
    article = library.articles[position]
    title_terms = terms(article.title)
    body_counts = Counter(terms(article.body))
    idf = library.article_index.idf
    salient = sorted(body_counts, key=lambda term: (-body_counts[term] * idf(term), term))
    query = list(dict.fromkeys(title_terms)) + [t for t in salient[:SALIENT_TERMS] if t not in title_terms]
    own_topics = set(library.article_topics[position])
    own_words = set(title_terms) | set(body_counts)
    # "More like this" is a whole-article question: the article index alone ranks the pool, and the
    # boost re-orders it (ranking the whole archive for a forty-word query would cost far more).
    pool = library.article_index.top_k(query, CANDIDATE_POOL, tie_rank=library.recency_rank)
    scored: list[tuple[float, int]] = []
    for candidate, score in pool:
        if candidate == position:
            continue
        shared = len(own_topics.intersection(library.article_topics[candidate]))
        scored.append((max(score, 0.0) * (1.0 + TOPIC_BOOST * shared), candidate))
    scored.sort(key=lambda item: (-item[0], int(library.recency_rank[item[1]])))
    hits: list[Hit] = []
    for boosted, candidate in scored:  # near-duplicates are checked only as far down as needed
        if len(hits) >= limit:
            break
        if not _near_duplicate(library, candidate, article.title, own_words):
            hits.append(library.lead_hit(candidate, query, score=boosted))
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


def message_topics(library: Library, text: str) -> list[Topic]:
    """The topics a chat message mentions in its first MESSAGE_CHARS characters."""
    return library.matcher.mentions(text[:MESSAGE_CHARS])


def message_terms(library: Library, text: str) -> list[str]:
    """The MESSAGE_TERMS rarest distinct terms (fewest articles; unseen first) of a message's start."""
    distinct = list(dict.fromkeys(terms(text[:MESSAGE_CHARS])))
    ranked = sorted(range(len(distinct)), key=lambda i: (library.article_index.doc_freq(distinct[i]), i))
    return [distinct[i] for i in sorted(ranked[:MESSAGE_TERMS])]


def related_to_message(
    library: Library,
    text: str,
    *,
    limit: int = 3,
    exclude: Collection[str] = (),
    topics: Collection[Topic] | None = None,
) -> list[TopicRelated]:
    """For each topic a message mentions (in its first MESSAGE_CHARS), or each of `topics` when given:
    up to `limit` of its articles, best match first."""
    mentioned = message_topics(library, text) if topics is None else list(topics)
    if not mentioned:
        return []
    query_terms = message_terms(library, text)
    ranked, scores, _ = library.top_articles(query_terms, CANDIDATE_POOL)
    # The relevance rule of answers holds for pushes too: a story only a word away from the message
    # is not related to it, and a push nobody asked for must be worth it.
    strong = library.relevance_of(query_terms, ranked) >= library.min_relevance
    fit = dict(zip(ranked[strong].tolist(), scores[strong].tolist(), strict=True))
    results: list[TopicRelated] = []
    for topic in mentioned:
        candidates = [
            position
            for position in library.topic_members.get(topic.slug, ())
            if position in fit and library.articles[position].id not in exclude
        ]
        candidates.sort(key=lambda p: (-fit[p], int(library.recency_rank[p])))
        hits = tuple(library.lead_hit(position, query_terms) for position in candidates[:limit])
        results.append(TopicRelated(topic=topic, hits=hits))
    return results
