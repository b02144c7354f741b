"""Word lists the training uses: sentiment valence (a model feature) and identity terms (debiasing).

Valence comes from the VADER lexicon (Hutto & Gilbert, ICWSM 2014; MIT licence), read from the
installed `vadersentiment` package at training time and stored in the model, so scoring needs no
package. A word of strongly negative, negative or positive mean valence also counts as the pseudo-word
"<neg2>", "<neg1>" or "<pos>", which lets the model learn from every insult word what a rare one
("repulsive", "vile") means.

Identity terms are never a reason to flag by themselves. Wikipedia comments that mention them are
more often toxic than others, so training gives non-toxic comments that mention a term more weight,
until the term's toxic share matches the label's overall share (instance weighting, Zhang et al.,
"Demographics should not be the reason of toxicity", 2020). The list follows the identity columns of
the Jigsaw Unintended Bias data (gender, orientation, religion, race/ethnicity, disability) in
everyday forms, plus age and origin words.
"""

from __future__ import annotations

from importlib import resources

from moderation.scoring.normalise import normalise
from moderation.training.data import TrainingDataError

STRONG_NEGATIVE = -2.5
NEGATIVE = -1.5
POSITIVE = 1.5

IDENTITY_TERMS: tuple[str, ...] = tuple(
    [
        "lesbian",
        "lesbians",
        "gay",
        "gays",
        "bisexual",
        "transgender",
        "trans",
        "queer",
        "lgbt",
        "lgbtq",
        "homosexual",
        "homosexuals",
        "heterosexual",
        "straight",
        "nonbinary",
        "male",
        "female",
        "man",
        "men",
        "woman",
        "women",
        "girl",
        "girls",
        "boy",
        "boys",
        "black",
        "blacks",
        "white",
        "whites",
        "asian",
        "asians",
        "african",
        "hispanic",
        "latino",
        "latina",
        "latinx",
        "mexican",
        "mexicans",
        "american",
        "americans",
        "canadian",
        "european",
        "indian",
        "chinese",
        "japanese",
        "arab",
        "arabs",
        "christian",
        "christians",
        "muslim",
        "muslims",
        "islam",
        "islamic",
        "jew",
        "jews",
        "jewish",
        "buddhist",
        "hindu",
        "sikh",
        "catholic",
        "protestant",
        "atheist",
        "atheists",
        "taoist",
        "old",
        "older",
        "young",
        "younger",
        "elderly",
        "teenage",
        "teenager",
        "millennial",
        "millenial",
        "deaf",
        "blind",
        "disabled",
        "paralyzed",
        "immigrant",
        "immigrants",
        "refugee",
        "refugees",
    ]
)


def valence_classes() -> dict[str, str]:
    """Normalised word -> "<neg2>", "<neg1>" or "<pos>", from the VADER lexicon."""
    try:
        text = (resources.files("vaderSentiment") / "vader_lexicon.txt").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise TrainingDataError(
            "training needs the VADER lexicon: pip install vadersentiment==3.3.2 (a dev dependency)"
        ) from exc
    classes: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].replace("'", "").isalpha():
            continue
        word, valence = normalise(parts[0]), float(parts[1])
        if " " in word or not word:
            continue
        if valence <= STRONG_NEGATIVE:
            classes[word] = "<neg2>"
        elif valence <= NEGATIVE:
            classes[word] = "<neg1>"
        elif valence >= POSITIVE:
            classes[word] = "<pos>"
    return dict(sorted(classes.items()))
