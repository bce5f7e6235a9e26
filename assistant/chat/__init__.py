"""A chat turn end to end (answer, record, suggest a next step) and the conversation store."""
