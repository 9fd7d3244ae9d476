"""Allows `python -m tap_pardot`."""

from tap_pardot.tap import main

main()
