"""`python -m mxir.dialect` regenerates mx.irdl.mlir from the op table."""

from . import IRDL_PATH, irdl_text

with open(IRDL_PATH, "w") as f:
    f.write(irdl_text())
print(f"wrote {IRDL_PATH}")
