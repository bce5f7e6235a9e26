"""Languages as configuration: the registry the analyzer, the detectors and retrieval read.

A :class:`Language` says how to analyze text for BM25 (Snowball stemmer, stop words) and how
to recognise it (stop words, cue words and characters that vote for it). Every rule that
depends on a language reads its entry here; nothing elsewhere names Spanish or English.
Adding French is one entry in ``LANGUAGES`` and its stop words in
``assistant/data/stop_words_fr.txt`` (user-facing sentences live in ``messages.py``).

Detection is a vote: each registered language counts the words of the text that are its stop
or cue words (accents folded: customers type "como" for "cómo") plus twice the characters
only it writes, and the language with most votes wins; a tie with the default language goes
to the default (English). That tells English and Spanish apart reliably in short, lowercase,
accent-less questions as long as they have a stop word. A search-box query often has none
("cambiar zona horaria", "modo oscuro"): then a character n-gram model of the registered
languages (the ``lingua`` package, whose models ship inside it) decides, and only when it
finds one language at least twice as likely as the others together; else the text is
English. Languages that share many stop words (Spanish and French share "de", "la", "que",
"en") need cue characters or words to stay apart.

A document's language is its declared locale (``es-MX`` → ``es``); a document that declares
none is detected from its text at ingest (:func:`detect_document_language`) and stored as its
locale, so filters, the analyzer and the fusion weights all see it.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import Stemmer
from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

from assistant.bundled import DATA_DIR

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Language",
    "analyze",
    "detect_document_language",
    "detect_language",
    "fold",
    "is_stop_word",
    "language",
    "language_of_locale",
    "load_detector",
    "stop_words",
]

_DATA = DATA_DIR
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_LOCALE_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# A document's language is settled by its opening: enough text for hundreds of stop words.
_DOCUMENT_WORDS = 2_000
# The n-gram model names a language only when it is at least twice as likely as all the
# others together (the odds request_kind.py refuses at), else the text is the default's.
_SURE = 2 / 3


def fold(word: str) -> str:
    """The word without accents ("configuración" → "configuracion")."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


def stop_words(code: str) -> frozenset[str]:
    """The words of ``assistant/data/stop_words_<code>.txt`` (one a line, ``#`` comments)."""
    lines = (_DATA / f"stop_words_{code}.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


@dataclass(frozen=True)
class Language:
    """One language the analyzer and the detector know.

    - ``code``: ISO 639-1, what locales start with (``es`` for ``es-MX``).
    - ``name``: in English, for prompts ("Answer in Spanish").
    - ``stemmer``: the Snowball algorithm PyStemmer runs (``Stemmer.algorithms()``), or None
      to index words unstemmed.
    - ``stop_words``: dropped by the analyzer, and votes for the language in detection.
    - ``cue_words``: further words that vote for the language without being dropped.
    - ``cue_characters``: characters that vote (twice) for the language ("ñ¿¡" for Spanish).
    """

    code: str
    name: str
    stemmer: str | None
    stop_words: frozenset[str] = frozenset()
    cue_words: frozenset[str] = frozenset()
    cue_characters: str = ""
    _folded_stop_words: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_folded_stop_words", frozenset(map(fold, self.stop_words)))

    def is_stop_word(self, word: str) -> bool:
        """``word`` (lowercase) is a stop word, with or without its accents."""
        return word in self.stop_words or fold(word) in self._folded_stop_words

    def votes(self, words: Iterable[str], text: str) -> int:
        """How strongly ``words`` (lowercase, of ``text``) say they are in this language."""
        count = sum(1 for w in words if self.is_stop_word(w) or w in self.cue_words)
        if self.cue_characters:
            count += 2 * sum(1 for ch in text if ch in self.cue_characters)
        return count


DEFAULT_LANGUAGE = "en"

LANGUAGES: dict[str, Language] = {
    entry.code: entry
    for entry in (
        Language("en", "English", "english", stop_words("en")),
        Language(
            "es",
            "Spanish",
            "spanish",
            stop_words("es"),
            cue_words=frozenset(
                ["cómo", "qué", "cuál", "dónde", "cuándo", "porqué", "está", "están", "también"]
            ),
            cue_characters="ñ¿¡áéíóú",
        ),
    )
}


@cache
def _unregistered(code: str) -> Language:
    return Language(code, code, None)


def language(code: str) -> Language:
    """The registry's entry for ``code``; a language it lacks is analyzed without stemming or
    stop words (its documents are still indexed and found by the multilingual model)."""
    return LANGUAGES.get(code) or _unregistered(code)


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def _vote(text: str, words: list[str]) -> str:
    if not words:
        return DEFAULT_LANGUAGE
    tally = {code: entry.votes(words, text) for code, entry in LANGUAGES.items()}
    best = max(tally.values())
    if best == 0:
        return _ngram_guess(text)
    if tally.get(DEFAULT_LANGUAGE) == best:
        return DEFAULT_LANGUAGE
    return next(code for code, votes in tally.items() if votes == best)


@cache
def _ngram_model(registered: tuple[str, ...]) -> LanguageDetector | None:
    """Character n-gram models of the ``registered`` languages that lingua knows (None if
    fewer than two: there is nothing to tell apart)."""
    codes = []
    for code in registered:
        try:
            codes.append(IsoCode639_1.from_str(code))
        except ValueError:
            continue
    if len(codes) < 2:
        return None
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    return builder.with_preloaded_language_models().build()


def load_detector() -> None:
    """Load the n-gram models now rather than on the first short query (about 0.2 s)."""
    _ngram_model(tuple(sorted(LANGUAGES)))


def _ngram_guess(text: str) -> str:
    """The registered language the n-gram model is sure of for ``text``, else the default."""
    model = _ngram_model(tuple(sorted(LANGUAGES)))
    if model is None:
        return DEFAULT_LANGUAGE
    values = model.compute_language_confidence_values(text)
    if not values or values[0].value < _SURE:
        return DEFAULT_LANGUAGE
    code = values[0].language.iso_code_639_1.name.lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def detect_language(text: str) -> str:
    """The registered language a question is written in (``DEFAULT_LANGUAGE`` when unsure)."""
    return _vote(text, _words(text))


def detect_document_language(text: str) -> str:
    """The registered language a document is written in, from its opening words.

    The same vote as for questions over the first couple of thousand words: a page's stop
    words outnumber the product names, code and URLs it quotes in another language.
    """
    matches = list(itertools.islice(_WORD.finditer(text), _DOCUMENT_WORDS))
    opening = text[: matches[-1].end()] if matches else ""
    return _vote(opening, _words(opening))


def language_of_locale(locale: str) -> str:
    """The language of a document locale: its primary subtag ('es-MX' → 'es'), the default
    for an empty or malformed one. A code the registry lacks is kept ('de'): the multilingual
    model still reads it, the analyzer only lowercases it."""
    code = re.split(r"[-_]", locale.strip().lower(), maxsplit=1)[0]
    return code if _LOCALE_LANGUAGE.match(code) else DEFAULT_LANGUAGE


def is_stop_word(word: str, language_code: str) -> bool:
    return language(language_code).is_stop_word(word)


@cache
def _stemmer(algorithm: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(algorithm)


def analyze(text: str, language_code: str = DEFAULT_LANGUAGE) -> list[str]:
    """Lowercase words without stop words, stemmed for the language and folded to ASCII.

    Folding after stemming makes "configuración" and "configuracion" one term, as customers
    type both.
    """
    entry = language(language_code)
    kept = [w for w in _words(text) if not entry.is_stop_word(w)]
    if entry.stemmer is not None:
        kept = _stemmer(entry.stemmer).stemWords(kept)
    return [fold(s) for s in kept]
