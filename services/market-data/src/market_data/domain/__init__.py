"""The market-data domain: exact scaled decimals, bar normalization, data quality, price walks."""
