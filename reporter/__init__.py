"""reporter: honest, bilingual status reports for ML training runs.

The pipeline is ingest -> analyse -> present -> render -> publish; see README.md.
"""

__version__ = "0.1.0"
