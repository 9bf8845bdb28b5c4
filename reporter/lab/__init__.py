"""The many-run layer: what reporter does with a whole lab's runs at once (delivery of the nightly reports)."""
