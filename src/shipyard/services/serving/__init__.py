"""Serving: loaded models, micro-batching, figures and prediction logs of one replica."""
