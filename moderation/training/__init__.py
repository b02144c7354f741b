"""Training the project's own models from the labelled data in ../shared/data (never the dev files)."""
