"""`python -m mxir.dialect` regenerates mx.irdl.mlir and COVERAGE.md from the op table."""

from . import COVERAGE_PATH, IRDL_PATH, coverage_table, irdl_text

for path, text in ((IRDL_PATH, irdl_text()), (COVERAGE_PATH, coverage_table())):
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path}")
