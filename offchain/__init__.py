"""Off-chain side of the green-energy miners: store, indexer, gateway, scoring and oracle."""
