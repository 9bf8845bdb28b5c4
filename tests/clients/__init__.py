"""Real-client tests: a package, so their conftest does not shadow tests/conftest.py on sys.path."""
