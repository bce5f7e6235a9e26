"""Every language first-class: the registry, document languages detected at ingest, and a
Spanish knowledge base answering Spanish and English questions (real models)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES

from assistant.knowledge.catalog import Catalog
from assistant.knowledge.lexical import LexicalIndex
from assistant.knowledge.retrieval import FusionWeights, RankedList, Retriever
from assistant.language import (
    LANGUAGES,
    Language,
    analyze,
    detect_document_language,
    detect_language,
    language_of_locale,
)
from assistant.messages import messages
from ingest.sync import sync_path

SPANISH_KB = FIXTURES / "spanish_kb"

# --- the registry ---------------------------------------------------------------------------

FRENCH = Language(
    "fr",
    "French",
    "french",
    frozenset(["le", "la", "les", "de", "des", "du", "un", "une", "et", "pour", "comment", "je",
               "mon", "ma", "mes", "est"]),
    cue_characters="çœàè",
)


@pytest.fixture
def french(monkeypatch: pytest.MonkeyPatch) -> Language:
    """A third language, registered for this test only: one entry is all it takes."""
    monkeypatch.setitem(LANGUAGES, "fr", FRENCH)
    return FRENCH


def test_a_registered_language_is_detected_and_analyzed(french):
    assert detect_language("comment je change mon mot de passe ?") == "fr"
    assert detect_language("¿cómo cambio mi contraseña?") == "es"
    assert detect_language("how do I change my password") == "en"
    assert analyze("Comment exporter les tâches", "fr") == ["export", "tach"]
    assert language_of_locale("fr-CA") == "fr"


@pytest.mark.parametrize(("query", "language"), [
    # Search-box queries without a stop word: the n-gram model decides.
    ("modo oscuro", "es"),
    ("borrar etiquetas", "es"),
    ("notificaciones correo", "es"),
    ("dark mode", "en"),
    ("csv export", "en"),
    ("sso", "en"),
    ("Exportar CSV API webhook", "en"),  # not sure either way: the default
])
def test_a_query_without_stop_words_is_detected_by_its_characters(query, language):
    assert detect_language(query) == language


def test_the_ngram_model_covers_every_registered_language(french):
    assert detect_language("exporter tâches") == "fr"


def test_a_registered_language_stems_its_documents_in_the_lexical_index(french):
    texts = ["Exporter les tâches du projet", "Inviter des collègues"]
    index = LexicalIndex.build(["a", "b"], texts, ["fr", "fr"], generation=1)
    scores = index.scores("exportation des tâches", "fr")
    assert scores[0] > 0 and scores[1] == 0


def test_a_language_without_an_entry_is_indexed_unstemmed():
    assert language_of_locale("de-AT") == "de"
    assert analyze("Die Aufgaben exportieren", "de") == ["die", "aufgaben", "exportieren"]


def test_messages_fall_back_to_english():
    assert messages("es").sources == "Fuentes"
    assert messages("fr").sources == "Sources"


@pytest.mark.parametrize(("locale", "language"), [
    ("es", "es"), ("es-MX", "es"), ("ES_es", "es"), ("en-US", "en"), ("", "en"), ("???", "en"),
])
def test_language_of_locale(locale, language):
    assert language_of_locale(locale) == language


# --- document languages ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "language"), [
    ("Para exportar las tareas de un proyecto, abre el menú y elige el formato que quieras.",
     "es"),
    ("To export the tasks of a project, open the menu and choose the format you want.", "en"),
    ("Exportar CSV API webhook", "en"),  # no evidence either way: the default
    ("", "en"),
])
def test_detect_document_language(text, language):
    assert detect_document_language(text) == language


def test_a_document_without_a_locale_gets_the_language_of_its_text(knowledge, tmp_path: Path):
    folder = Path(shutil.copytree(SPANISH_KB, tmp_path / "kb"))
    english = folder / "tareas" / "english-page.md"
    english.write_text("# Export your data\n\nOpen the project menu and choose Export.\n")
    declared = folder / "tareas" / "declared.md"
    declared.write_text("---\nlocale: en\n---\n# Exporta\n\nAbre el menú del proyecto y elige.\n")
    assert sync_path(knowledge, "docs", folder).ok
    catalog: Catalog = knowledge.get("docs").catalog
    assert catalog.document("tareas/exportar-datos.md").locale == "es"  # detected
    assert catalog.document("cuenta/cancelar-tu-plan.md").locale == "es-mx"  # declared
    assert catalog.document("tareas/english-page.md").locale == "en"
    assert catalog.document("tareas/declared.md").locale == "en"  # declared wins


# --- fusion weights (which model reads which language) ---------------------------------------

READS = {"dense": frozenset({"en"}), "multilingual": frozenset({"en", "es", "fr"})}


def weights(question: str, mix: dict[str, int], rendered=()) -> set[RankedList]:
    return set(FusionWeights().lists(question, mix, READS, rendered))


def test_english_on_an_english_kb_minilm_leads():
    assert weights("en", {"en": 100}) == {
        RankedList("dense", "en", False, 1.0),
        RankedList("multilingual", "en", False, 0.5),
        RankedList("bm25", "en", False, 1.0),
        RankedList("cards", "en", False, 0.5),
    }


def test_spanish_on_a_spanish_kb_use_leads_and_minilm_is_out():
    assert weights("es", {"es": 100}) == {
        RankedList("multilingual", "es", False, 1.0),
        RankedList("bm25", "es", False, 1.0),
    }


def test_english_on_a_spanish_kb_is_rendered_into_spanish():
    assert weights("en", {"es": 100}, rendered={"es"}) == {
        RankedList("multilingual", "es", True, 1.0),  # USE over the Spanish rendering
        RankedList("multilingual", "es", False, 1.0),  # and over the question as asked
        RankedList("bm25", "es", True, 1.0),
    }


def test_spanish_on_an_english_kb_minilm_reads_the_rendering():
    assert weights("es", {"en": 100}, rendered={"en"}) == {
        RankedList("dense", "en", True, 1.0),
        RankedList("multilingual", "en", False, 1.0),
        RankedList("bm25", "en", True, 1.0),
        RankedList("cards", "en", True, 0.5),
    }


def test_other_languages_count_by_the_kb_mix():
    lists = weights("en", {"en": 90, "es": 10}, rendered={"es"})
    assert [x.weight for x in lists if x.documents == "es"] == pytest.approx([0.1] * 3)
    assert RankedList("dense", "en", False, 1.0) in lists


def test_a_language_fewer_models_read_is_not_outvoted_by_list_count():
    lists = weights("es", {"en": 90, "es": 10}, rendered={"en"})
    spanish = sum(x.weight for x in lists if x.documents == "es")
    english = sum(x.weight for x in lists if x.documents == "en")
    assert spanish == pytest.approx(english / 0.9)  # the same say, times the English share


def test_without_the_multilingual_model_minilm_counts_half():
    lists = FusionWeights().lists("es", {"es": 10}, {"dense": frozenset({"en"})})
    assert set(lists) == {
        RankedList("dense", "es", False, 0.5), RankedList("bm25", "es", False, 1.0)
    }


# --- a Spanish knowledge base, real models ------------------------------------------------------


@pytest.fixture(scope="module")
def spanish(tmp_path_factory: pytest.TempPathFactory, embedders, model_dir: Path) -> Retriever:
    from conftest import clear_learnloop_env, knowledge_with

    from assistant.settings import Settings

    with pytest.MonkeyPatch.context() as mp:
        clear_learnloop_env(mp)
        settings = Settings(data_dir=tmp_path_factory.mktemp("spanish-data"))
    knowledge = knowledge_with(settings, embedders, model_dir)
    assert sync_path(knowledge, "ordena", SPANISH_KB).ok
    return Retriever(knowledge, knowledge.get("ordena"))


@pytest.mark.parametrize(("question", "article"), [
    ("¿cómo exporto mis tareas a excel?", "tareas/exportar-datos.md"),
    ("no me llegan los avisos por correo", "tareas/notificaciones.md"),
    ("quiero que la tarea del informe semanal se cree sola cada lunes",
     "tareas/tareas-recurrentes.md"),
    ("si cancelo el plan anual me devuelven la plata?", "cuenta/cancelar-tu-plan.md"),
])
def test_spanish_questions_find_their_article_first(spanish, question, article):
    assert spanish.search(question, k=3)[0].article_id == article


@pytest.mark.parametrize(("question", "article"), [
    ("How do I turn on two-factor authentication?", "cuenta/verificacion-en-dos-pasos.md"),
    ("I forgot my password", "cuenta/restablecer-contrasena.md"),
    ("how can I invite my coworkers?", "cuenta/invitar-a-tu-equipo.md"),
    ("switch the app to dark mode", "tareas/modo-oscuro.md"),
])
def test_english_questions_find_the_spanish_article_first(spanish, question, article):
    assert spanish.search(question, k=3)[0].article_id == article


def test_an_english_question_answered_by_two_spanish_articles(spanish):
    first = spanish.search("can I get a refund if I cancel?", k=3)[0].article_id
    assert first in {"cuenta/cancelar-tu-plan.md", "cuenta/facturacion-preguntas-frecuentes.md"}
