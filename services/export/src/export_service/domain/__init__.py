"""The export domain: plain rows in, workbooks out; no web framework, driver or SQL."""
