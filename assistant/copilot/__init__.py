"""The support-agent copilot: cited reply drafts for tickets, beside the customer's
learning story, and the agents' feedback on them (DESIGN "Copilot")."""
