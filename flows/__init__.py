"""Prefect flows: the pipeline's story, with the work done in `moderation`."""
