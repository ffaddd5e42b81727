"""LayerLab's bundled data: example designs and exercises (JSON files only; no code lives here).

This file makes the folder an installable package, so that a wheel carries the data and
``importlib.resources`` finds it wherever LayerLab is installed.
"""
