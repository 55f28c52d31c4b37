"""Command-line tools: `mxir-opt`, `mxir-run`, `mxir-translate` (mlir-opt style drivers)."""
