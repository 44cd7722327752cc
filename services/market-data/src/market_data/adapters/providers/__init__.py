"""Data providers: one interface, four implementations (synthetic, file, yahoo, finnhub)."""
