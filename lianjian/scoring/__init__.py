"""Pure scoring transforms: one module per rule family of docs/rules.md (R1–R8), over Polars LazyFrames."""
