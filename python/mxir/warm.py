"""`python -m mxir.warm [dtype ...]`: build the eager kernel library's elementwise and reduction
kernels for the dtypes (float32 by default) into the on-disk cache, once per machine."""

import sys
import time

from mxir import eager

if __name__ == "__main__":
    t = time.perf_counter()
    n = eager.warm(tuple(sys.argv[1:]) or ("float32",))
    print(f"{n} kernels ready in {time.perf_counter() - t:.1f} s ({eager.BUILDS[0]} built)")
