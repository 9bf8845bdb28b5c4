"""The many-run layer, on top of the one-run report: discovery, the incremental nightly batch (fingerprints,
one lock, local or Dask runners), the index and the digest, comparisons of runs, and delivery. It calls the
pipeline and reads what was published through the out-store."""
