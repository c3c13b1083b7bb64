"""Embedding: prompt conventions by model family, and the prompts a model folder saves."""

from __future__ import annotations

from rag_qa.embedding import prompt_style


def test_e5_prefixes_questions_and_passages():
    style = prompt_style("intfloat/multilingual-e5-small")
    assert (style.query, style.document) == ("query: ", "passage: ")


def test_empty_saved_prompts_are_treated_as_absent():
    # sentence-transformers 6 saves empty "query" / "document" prompts; they must not erase e5's
    style = prompt_style("intfloat/multilingual-e5-small", {"query": "", "document": ""})
    assert (style.query, style.document) == ("query: ", "passage: ")
    saved = prompt_style("my-e5-folder/e5-small", {"query": "query: ", "passage": "passage: ", "document": ""})
    assert (saved.query, saved.document) == ("query: ", "passage: ")


def test_saved_prompts_override_the_family_convention():
    style = prompt_style("some-org/unknown-model", {"query": "Q: ", "document": "D: "})
    assert (style.query, style.document) == ("Q: ", "D: ")
