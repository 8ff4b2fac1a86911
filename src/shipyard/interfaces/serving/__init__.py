"""Inference server: protocols over the serving runtime."""
