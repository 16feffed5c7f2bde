"""A tag prior for :func:`logdrum.amapiano_proxy_score`, built only from MagnaTagATune tags.

MagnaTagATune (MTAT) has 188 crowd-sourced tags and no "amapiano", "log drum", "groove" or
"bassline" tag at all. What it does have are tags that point towards (or away from) the
electronic, dance, deep-house and jazzy-piano neighbourhood amapiano lives in. The prior turns a
clip's tags into a number in [0, 1]:

``prior = 1 / (1 + exp(-s))`` where ``s`` is the sum of the weights of the tag *groups* that
the clip carries, so no tags (or only neutral ones) give 0.5.

Why groups: MTAT tags are noisy and redundant (``drum``/``drums``, ``beat``/``beats``,
``classical``/``clasical``). A group counts once however many of its spellings a clip has, so
a clip tagged ``drum`` and ``drums`` is not twice as drummy.

Why these weights (every tag below is one of the 188; a test checks that):

- **+1.0** (the genre neighbourhood): electronic dance music and house-adjacent genres. Amapiano
  grew out of deep house and kwaito, so these are the strongest evidence tags can give.
- **+0.5** (ingredients): a steady beat, drums and percussion, bass and low end, synths,
  repetition, funk, and piano/jazz (amapiano is named after its piano). Each alone is weak
  evidence: rock has drums, classical music has piano.
- **-0.5** (soft against): quiet, calm, slow, ambient and acoustic textures.
- **-1.0** (against): classical, opera, choir, early and folk music, metal and rock.
- **-1.5** (explicit negatives): ``no beat`` and ``no drums``: a log-drum line is a beat.

The prior is monotone: adding a tag from a positive group never lowers it, adding one from a
negative group never raises it. Tags not in any group (``guitar``, ``female vocal``, ...) and
tags that are not MTAT tags are ignored.
"""

from __future__ import annotations

import math

__all__ = ["TAG_GROUPS", "tag_prior", "tag_score", "split_tags", "join_tags"]

#: ``(weight, tags)`` pairs. Every tag is one of the 188 MagnaTagATune tags.
TAG_GROUPS = (
    # genre neighbourhood
    (1.0, ("electronic", "electronica", "electro")),
    (1.0, ("house",)),
    (1.0, ("dance", "disco")),
    (1.0, ("techno", "trance")),
    # ingredients
    (0.5, ("beat", "beats", "fast beat")),
    (0.5, ("drum", "drums", "percussion")),
    (0.5, ("bass", "low", "deep")),
    (0.5, ("synth", "synthesizer")),
    (0.5, ("repetitive",)),
    (0.5, ("funky", "funk")),
    (0.5, ("piano", "jazzy", "jazz")),
    # soft against
    (-0.5, ("quiet", "calm", "soft", "slow", "mellow")),
    (-0.5, ("ambient", "new age", "airy", "spacey")),
    (-0.5, ("acoustic", "acoustic guitar", "classical guitar")),
    # against
    (-1.0, ("classical", "clasical", "baroque", "orchestral", "orchestra")),
    (-1.0, ("opera", "operatic", "soprano", "female opera", "male opera", "choir", "choral")),
    (-1.0, ("medieval", "harpsichord", "harpsicord", "lute", "celtic", "irish")),
    (-1.0, ("rock", "hard rock", "heavy metal", "metal", "punk")),
    # explicit negatives
    (-1.5, ("no beat", "no drums")),
)

_TAG_TO_GROUP = {tag: i for i, (_, tags) in enumerate(TAG_GROUPS) for tag in tags}


def split_tags(tags):
    """Normalise ``tags`` to a tuple of lower-case names.

    Parameters
    ----------
    tags : str or iterable of str or None
        A ``|``-separated string (as in ``training_metadata.csv``) or any iterable of names.
    """
    if tags is None:
        return ()
    if isinstance(tags, str):
        tags = tags.split("|")
    return tuple(t.strip().lower() for t in tags if t and t.strip())


def join_tags(tags) -> str:
    """Tag names joined with ``|`` (the ``tags`` column of ``training_metadata.csv``)."""
    return "|".join(split_tags(tags))


def tag_score(tags) -> float:
    """Sum of the weights of the tag groups present in ``tags`` (each group counts once)."""
    groups = {_TAG_TO_GROUP[t] for t in split_tags(tags) if t in _TAG_TO_GROUP}
    return float(sum(TAG_GROUPS[g][0] for g in groups))


def tag_prior(tags) -> float:
    """How amapiano-like a clip's MTAT tags are, in (0, 1); 0.5 means no evidence.

    Parameters
    ----------
    tags : str or iterable of str
        MagnaTagATune tag names (``|``-separated string or iterable).

    Returns
    -------
    float
        ``1 / (1 + exp(-tag_score(tags)))``.

    Examples
    --------
    >>> from logdrum.dataset.tags import tag_prior
    >>> tag_prior([])
    0.5
    >>> round(tag_prior(["electronic", "dance", "house"]), 3)
    0.953
    >>> round(tag_prior("classical|no drums"), 3)
    0.076
    """
    return 1.0 / (1.0 + math.exp(-tag_score(tags)))
