"""`python -m tallyproof` runs the command line."""

from tallyproof.cli import main

main()
