"""The one-run pipeline, in the order it runs: ingest, analysis, present, render (pipeline.py ties them)."""
