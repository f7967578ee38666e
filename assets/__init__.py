"""Assets, one module per layer: landing → staged → derived → assessed → published → reports."""
