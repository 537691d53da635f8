"""Pipelines: ordered stages with default win probabilities; a default pipeline in every workspace."""
