"""``python -m wfmine``."""

from wfmine.cli import main

main()
