"""Research tooling, off the product path: scoring the projection on public learning curves (`reporter backtest`)."""
