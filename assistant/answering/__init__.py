"""Turning retrieved passages into a short cited answer or a decline: the extractive reader,
the LLM answerer with its grounding guard, prompts, and the answerer factory."""
