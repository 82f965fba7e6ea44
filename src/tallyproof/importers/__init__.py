"""Turning outside data (sample stories, public data sets) into signed submissions."""
