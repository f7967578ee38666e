"""Pure scoring transforms: one module per rule family of RULES.md (R1–R8), over Polars LazyFrames."""
