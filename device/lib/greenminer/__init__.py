"""Device code of a green-energy miner; runs unchanged under CircuitPython and CPython."""
