"""The index's pure domain: parameters, results and the errors a reader can act on."""
