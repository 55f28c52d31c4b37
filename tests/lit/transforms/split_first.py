"""Print chunk N of `// -----`-separated input (for running one case of a split file)."""

import sys

chunks = sys.stdin.read().split("// -----")
print(chunks[int(sys.argv[1])])
