"""`python -m moderation.cli`: the same as the `moderation` command."""

from moderation.cli import main

main()
