import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
# tests never read or fill the user's compile cache
os.environ["MXIR_CACHE_DIR"] = tempfile.mkdtemp(prefix="mxir-test-cache-")
