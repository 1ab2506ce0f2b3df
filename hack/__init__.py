"""Developer scripts; the Python ones run as modules from the repository root (`python -m hack.demo`)."""
