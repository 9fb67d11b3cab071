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

Question following (``counting_metrics``), on exactly the split's counting questions (QA type
``"counting"``, the synthetic QA's "How many <class> are within 30 meters ...?"): an answer's
count phrase is the first "<count> <class>" in it (count: digits, "no", "zero" or one to twenty
in words; class: a detection class, singular or plural, as ``onedrive.synthetic.qa.readable``
writes it). ``text/counting_class_named``: share whose count phrase names the class asked;
``text/counting_correct``: share that also gives the reference's count. An answer without a count
phrase counts as not following. ``text/num_counting_questions`` is the denominator (0: no rates).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

from onedrive.errors import InputError
from onedrive.extras import extra_module
from onedrive.synthetic.classes import DETECTION_CLASSES
from onedrive.synthetic.qa import readable

_PUNCTUATION = str.maketrans({c: " " for c in string.punctuation})
COUNTING_TYPE = "counting"
_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
).split()
_COUNTS = {word: value for value, word in enumerate(_NUMBER_WORDS)} | {"no": 0}
# every written form of a class (tokenised, singular and plural) -> class name; longest forms first in the pattern
_CLASS_FORMS = {
    form: name for name in DETECTION_CLASSES for form in {" ".join(readable(name, n).split()) for n in (1, 2)}
}
_CLASS_PATTERN = "|".join(re.escape(form) for form in sorted(_CLASS_FORMS, key=len, reverse=True))
_COUNT_PHRASE = re.compile(rf"\b(\d+|{'|'.join(_COUNTS)}) ({_CLASS_PATTERN})\b")
_ASKED = re.compile(rf"\bhow many ({_CLASS_PATTERN})\b")

CONVENTIONS = {
    "text/counting": (
        "counting questions (QA type 'counting'): the answer's first '<count> <class>' phrase; class_named = it names "
        "the class asked, correct = and the reference's count; an answer without such a phrase counts as not "
        "following; shares over num_counting_questions"
    ),
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


def count_phrase(text: str) -> tuple[str, int] | None:
    """(class, count) of the first "<count> <class>" phrase of ``text``; None when it has none."""
    match = _COUNT_PHRASE.search(tokenize(text))
    if match is None:
        return None
    number, form = match.groups()
    return _CLASS_FORMS[form], int(number) if number.isdigit() else _COUNTS[number]


def asked_class(question: str) -> str | None:
    """The class of a "How many <class> ..." question; None when it names none."""
    match = _ASKED.search(tokenize(question))
    return None if match is None else _CLASS_FORMS[match.group(1)]


def counting_metrics(
    questions: Sequence[str], predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> dict[str, float | int]:
    """Question following on N counting questions (module docstring); every question is scored.

    Raises ``InputError`` when a question names no class or its references do not agree on one
    (class, count): that is the split's data, not the model's answer.
    """
    if not len(questions) == len(predictions) == len(references):
        raise ValueError(
            f"{len(questions)} questions, {len(predictions)} predictions, {len(references)} reference lists"
        )
    named = correct = 0
    for question, prediction, refs in zip(questions, predictions, references):
        asked = asked_class(question)
        truths = {count_phrase(ref) for ref in refs}
        if asked is None or len(truths) != 1 or None in truths or next(iter(truths))[0] != asked:
            raise InputError(
                f"counting question {question!r} with references {list(refs)}: expected 'How many <class> ...' and "
                f"references giving '<count> <class>' for that class ({', '.join(DETECTION_CLASSES)})"
            )
        answer = count_phrase(prediction)
        if answer is not None and answer[0] == asked:
            named += 1
            correct += answer[1] == next(iter(truths))[1]
    metrics: dict[str, float | int] = {"text/num_counting_questions": len(questions)}
    if questions:
        metrics["text/counting_class_named"] = named / len(questions)
        metrics["text/counting_correct"] = correct / len(questions)
    return metrics
