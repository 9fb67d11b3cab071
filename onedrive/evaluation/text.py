"""Language metrics for driving QA: BLEU-1…4, ROUGE-L and CIDEr.

Reference: OpenDriveLab/DriveLM ``challenge/evaluation.py``, which scores answers with the
coco-caption scorers. We call the same scorers from the maintained ``pycocoevalcap`` package
(``Bleu(4)``, ``Rouge()``, ``Cider()``) with one difference: coco-caption's ``PTBTokenizer`` runs
Stanford CoreNLP in Java, which we do not require. Tokenisation here is plain Python:
lower-case, every ASCII punctuation character replaced by a space, split on whitespace.

Conventions: BLEU-n is the corpus-level score pycocoevalcap returns (brevity penalty over the
corpus, [0, 1]); ROUGE-L is the mean per-answer F-measure (β = 1.2, [0, 1]); CIDEr is
pycocoevalcap's CIDEr-D mean (×10 scaling: identical answers score 10, provided their n-grams do
not occur in every reference of the corpus — IDF is computed from the references scored).
METEOR and SPICE (Java) are not computed.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

from onedrive.extras import extra_module

_PUNCTUATION = str.maketrans({c: " " for c in string.punctuation})

CONVENTIONS = {
    "text": (
        "pycocoevalcap Bleu(4) corpus-level, Rouge (ROUGE-L F, beta 1.2) mean, Cider (CIDEr-D, x10) mean, as DriveLM "
        "challenge/evaluation.py; Python tokenisation (lower-case, punctuation removed, whitespace split) instead of "
        "the Java PTBTokenizer"
    ),
}


def tokenize(text: str) -> str:
    """Lower-case, replace punctuation with spaces, collapse whitespace."""
    return " ".join(text.lower().translate(_PUNCTUATION).split())


def text_metrics(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Score N predictions, each against its list of reference answers."""
    Bleu = extra_module("pycocoevalcap.bleu.bleu", "dev").Bleu
    Cider = extra_module("pycocoevalcap.cider.cider", "dev").Cider
    Rouge = extra_module("pycocoevalcap.rouge.rouge", "dev").Rouge

    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} reference lists")
    if not predictions:
        raise ValueError("no question/answer pairs to score")
    res = {i: [tokenize(p)] for i, p in enumerate(predictions)}
    gts = {}
    for i, refs in enumerate(references):
        if not refs:
            raise ValueError(f"question/answer pair {i} has no reference answer")
        gts[i] = [tokenize(r) for r in refs]
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    rouge, _ = Rouge().compute_score(gts, res)
    cider, _ = Cider().compute_score(gts, res)
    metrics = {f"text/BLEU-{n + 1}": float(bleu[n]) for n in range(4)}
    metrics["text/ROUGE-L"] = float(rouge)
    metrics["text/CIDEr"] = float(cider)
    metrics["text/num_pairs"] = len(predictions)
    return metrics
