"""Python-side home of the `mx` dialect for the MLIR bindings.

The bindings look up a Python module for every dialect namespace when they wrap an op; for an
unregistered namespace the failed import was repeated for every op (thousands of importlib
searches per pass, measured as most of mx-simplify's time). Registering this module as the
`mx` dialect's module makes the lookup succeed once and be cached.
"""

from mlir import ir
from mlir.dialects._ods_common import _cext


@_cext.register_dialect
class MxDialect(ir.Dialect):
    DIALECT_NAMESPACE = "mx"
