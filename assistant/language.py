"""Language detection for questions and the BM25 analyzer (stemming, stop words) per language.

Detection is deliberately small: the knowledge bases here are English and Spanish, and a
stop-word vote plus Spanish-only characters tells those apart reliably even in short,
lowercase, accent-less customer queries.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

__all__ = ["SUPPORTED", "analyze", "detect_language", "is_stop_word", "language_of_locale"]

SUPPORTED = ("en", "es")

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)

_EN_STOP = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "i'm",
        "can't",
        "don't",
        "doesn't",
        "isn't",
        "won't",
        "it's",
        "i've",
        "there's",
        "what's",
        "how's",
    ]
)
_ES_STOP = frozenset(
    [
        "a",
        "al",
        "algo",
        "algunas",
        "algunos",
        "ante",
        "antes",
        "como",
        "con",
        "contra",
        "cual",
        "cuales",
        "cuando",
        "de",
        "del",
        "desde",
        "donde",
        "durante",
        "e",
        "el",
        "ella",
        "ellas",
        "ellos",
        "en",
        "entre",
        "era",
        "eran",
        "es",
        "esa",
        "esas",
        "ese",
        "eso",
        "esos",
        "esta",
        "estaba",
        "estan",
        "estar",
        "estas",
        "este",
        "esto",
        "estos",
        "fue",
        "fueron",
        "ha",
        "hay",
        "hasta",
        "la",
        "las",
        "le",
        "les",
        "lo",
        "los",
        "mas",
        "me",
        "mi",
        "mis",
        "mucho",
        "muy",
        "nada",
        "ni",
        "no",
        "nos",
        "nosotros",
        "o",
        "os",
        "otra",
        "otras",
        "otro",
        "otros",
        "para",
        "pero",
        "poco",
        "por",
        "porque",
        "puedo",
        "puede",
        "que",
        "quien",
        "se",
        "sea",
        "ser",
        "si",
        "sin",
        "sobre",
        "son",
        "su",
        "sus",
        "tambien",
        "te",
        "tengo",
        "tiene",
        "tienen",
        "todo",
        "todos",
        "tu",
        "tus",
        "un",
        "una",
        "uno",
        "unos",
        "usted",
        "y",
        "ya",
        "yo",
        "como",
        "cómo",
        "qué",
        "cuál",
        "cuándo",
        "dónde",
        "por",
        "qué",
        "quiero",
        "necesito",
        "hago",
        "hacer",
    ]
)
# Words that vote for Spanish but are too useful to drop from a Spanish query's terms.
_ES_ONLY_HINTS = frozenset(
    ["cómo", "qué", "cuál", "dónde", "cuándo", "porqué", "está", "están", "también"]
)


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


_ES_STOP_FOLDED = frozenset(_fold(w) for w in _ES_STOP)


def detect_language(text: str) -> str:
    """'es' or 'en' (the default when the text gives no evidence)."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return "en"
    es = sum(1 for w in words if _fold(w) in _ES_STOP_FOLDED or w in _ES_ONLY_HINTS)
    en = sum(1 for w in words if w in _EN_STOP)
    es += 2 * sum(1 for ch in text if ch in "ñ¿¡áéíóú")
    return "es" if es > en else "en"


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer({"en": "english", "es": "spanish"}.get(language, "english"))


def language_of_locale(locale: str) -> str:
    """The analyzer language for a document locale ('es-MX' → 'es'; anything else → 'en')."""
    return "es" if locale.lower().startswith("es") else "en"


def is_stop_word(word: str, language: str) -> bool:
    if language == "es":
        return word in _ES_STOP or _fold(word) in _ES_STOP_FOLDED
    return word in _EN_STOP


def analyze(text: str, language: str = "en") -> list[str]:
    """Lowercase words without stop words, stemmed for the language and folded to ASCII.

    Folding after stemming makes "configuración" and "configuracion" one term, as customers
    type both.
    """
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    kept = [w for w in words if not is_stop_word(w, language)]
    return [_fold(s) for s in _stemmer(language).stemWords(kept)]
