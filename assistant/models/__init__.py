"""Small bundled models and encoders: sentence embedders, the pair judge, the grounding
model, request kinds and cross-lingual term alignment. Pure functions of their inputs."""
