"""Analyses of trained networks (``motionmag analyze``)."""
