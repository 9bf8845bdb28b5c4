"""Training-loop callbacks: thin adapters over `reporter.Recorder` that also render the report while training runs.

    reporter.integrations.hf.ReporterCallback         Hugging Face Trainer   (pip install 'reporter[hf]')
    reporter.integrations.lightning.ReporterLogger    Lightning              (pip install 'reporter[lightning]')
    reporter.integrations.keras.ReporterCallback      Keras 3                (pip install 'reporter[keras]')

Each module imports its framework; this package and `reporter` itself import none. What they share
(recording, rendering every N epochs and at the end in another process, marking an uncaught crash)
is `reporter.integrations.training`.
"""
