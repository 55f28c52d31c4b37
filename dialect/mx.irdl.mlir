// Generated from the op table by `python -m mxir.dialect`; do not edit by hand.
irdl.dialect @mx {
  irdl.operation @abs {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @add {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @arange {
    %r0 = irdl.base "!builtin.tensor"
    %dtype = irdl.base "#builtin.type"
    %shape = irdl.base "#builtin.dense_array"
    %start = irdl.base "#builtin.float"
    %step = irdl.base "#builtin.float"
    irdl.attributes {"dtype" = %dtype, "shape" = %shape, "start" = %start, "step" = %step}
    irdl.results(r0: %r0)
  }
  irdl.operation @arccos {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @arccosh {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @arcsin {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @arcsinh {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @arctan {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @arctan2 {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @arctanh {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @argmax {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %axis = irdl.base "#builtin.integer"
    %keepdims = irdl.base "#builtin.integer"
    irdl.attributes {"axis" = %axis, "keepdims" = %keepdims}
    irdl.results(r0: %r0)
  }
  irdl.operation @argmin {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %axis = irdl.base "#builtin.integer"
    %keepdims = irdl.base "#builtin.integer"
    irdl.attributes {"axis" = %axis, "keepdims" = %keepdims}
    irdl.results(r0: %r0)
  }
  irdl.operation @astype {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %dtype = irdl.base "#builtin.type"
    irdl.attributes {"dtype" = %dtype}
    irdl.results(r0: %r0)
  }
  irdl.operation @barrier {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @bitcast {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %dtype = irdl.base "#builtin.type"
    irdl.attributes {"dtype" = %dtype}
    irdl.results(r0: %r0)
  }
  irdl.operation @bitwise_and {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @bitwise_invert {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @bitwise_or {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @bitwise_xor {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @broadcast_to {
    %args = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(args: variadic %args)
    %shape = irdl.base "#builtin.dense_array"
    irdl.attributes {"shape" = %shape}
    irdl.results(r0: %r0)
  }
  irdl.operation @ceil {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @cholesky {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %upper = irdl.base "#builtin.integer"
    irdl.attributes {"upper" = %upper}
    irdl.results(r0: %r0)
  }
  irdl.operation @concatenate {
    %args = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(args: variadic %args)
    %axis = irdl.base "#builtin.integer"
    irdl.attributes {"axis" = %axis}
    irdl.results(r0: %r0)
  }
  irdl.operation @conjugate {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @constant {
    %r0 = irdl.base "!builtin.tensor"
    %value = irdl.base "#builtin.dense_int_or_fp_elements"
    irdl.attributes {"value" = %value}
    irdl.results(r0: %r0)
  }
  irdl.operation @cos {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @cosh {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @divide {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @eig {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    %r1 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0, r1: %r1)
  }
  irdl.operation @eigh {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    %r1 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %upper = irdl.base "#builtin.integer"
    irdl.attributes {"upper" = %upper}
    irdl.results(r0: %r0, r1: %r1)
  }
  irdl.operation @eigvals {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @equal {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @erf {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @erfinv {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @exp {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @expm1 {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @fft {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %adjoint = irdl.base "#builtin.integer"
    %axis = irdl.base "#builtin.integer"
    %inverse = irdl.base "#builtin.integer"
    %n = irdl.base "#builtin.integer"
    %real = irdl.base "#builtin.integer"
    irdl.attributes {"adjoint" = %adjoint, "axis" = %axis, "inverse" = %inverse, "n" = %n, "real" = %real}
    irdl.results(r0: %r0)
  }
  irdl.operation @floor {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @floor_divide {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @greater {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @greater_equal {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @imag {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @inv {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @left_shift {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @less {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @less_equal {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @log {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @log10 {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @log1p {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @log2 {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @logaddexp {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @logical_and {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @logical_not {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @logical_or {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @lu {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    %r1 = irdl.base "!builtin.tensor"
    %r2 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0, r1: %r1, r2: %r2)
  }
  irdl.operation @matmul {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @max {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %axes = irdl.base "#builtin.dense_array"
    %keepdims = irdl.base "#builtin.integer"
    irdl.attributes {"axes" = %axes, "keepdims" = %keepdims}
    irdl.results(r0: %r0)
  }
  irdl.operation @maximum {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @metal_kernel {
    %args = irdl.base "!builtin.tensor"
    %res = irdl.base "!builtin.tensor"
    irdl.operands(args: variadic %args)
    %spec = irdl.base "#builtin.string"
    irdl.attributes {"spec" = %spec}
    irdl.results(res: variadic %res)
  }
  irdl.operation @min {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %axes = irdl.base "#builtin.dense_array"
    %keepdims = irdl.base "#builtin.integer"
    irdl.attributes {"axes" = %axes, "keepdims" = %keepdims}
    irdl.results(r0: %r0)
  }
  irdl.operation @minimum {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @multiply {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @negative {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @not_equal {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @pad {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    %high = irdl.base "#builtin.dense_array"
    %low = irdl.base "#builtin.dense_array"
    irdl.attributes {"high" = %high, "low" = %low}
    irdl.results(r0: %r0)
  }
  irdl.operation @power {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @prod {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %axes = irdl.base "#builtin.dense_array"
    %keepdims = irdl.base "#builtin.integer"
    irdl.attributes {"axes" = %axes, "keepdims" = %keepdims}
    irdl.results(r0: %r0)
  }
  irdl.operation @qr {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    %r1 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0, r1: %r1)
  }
  irdl.operation @random_bits {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %shape = irdl.base "#builtin.dense_array"
    %width = irdl.base "#builtin.integer"
    irdl.attributes {"shape" = %shape, "width" = %width}
    irdl.results(r0: %r0)
  }
  irdl.operation @real {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @reciprocal {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @remainder {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @reshape {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %shape = irdl.base "#builtin.dense_array"
    irdl.attributes {"shape" = %shape}
    irdl.results(r0: %r0)
  }
  irdl.operation @right_shift {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @round {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @rsqrt {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @scan {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %axis = irdl.base "#builtin.integer"
    %inclusive = irdl.base "#builtin.integer"
    %kind = irdl.base "#builtin.integer"
    %reverse = irdl.base "#builtin.integer"
    irdl.attributes {"axis" = %axis, "inclusive" = %inclusive, "kind" = %kind, "reverse" = %reverse}
    irdl.results(r0: %r0)
  }
  irdl.operation @scatter_add {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %x2 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1, x2: %x2)
    %axis = irdl.base "#builtin.integer"
    irdl.attributes {"axis" = %axis}
    irdl.results(r0: %r0)
  }
  irdl.operation @select {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %x2 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1, x2: %x2)
    irdl.results(r0: %r0)
  }
  irdl.operation @sigmoid {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @sign {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @sin {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @sinh {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @size {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %axes = irdl.base "#builtin.dense_array"
    %dtype = irdl.base "#builtin.type"
    irdl.attributes {"axes" = %axes, "dtype" = %dtype}
    irdl.results(r0: %r0)
  }
  irdl.operation @slice {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %start = irdl.base "#builtin.dense_array"
    %stop = irdl.base "#builtin.dense_array"
    %strides = irdl.base "#builtin.dense_array"
    irdl.attributes {"start" = %start, "stop" = %stop, "strides" = %strides}
    irdl.results(r0: %r0)
  }
  irdl.operation @slice_update {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    %start = irdl.base "#builtin.dense_array"
    %stop = irdl.base "#builtin.dense_array"
    %strides = irdl.base "#builtin.dense_array"
    irdl.attributes {"start" = %start, "stop" = %stop, "strides" = %strides}
    irdl.results(r0: %r0)
  }
  irdl.operation @sort {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    %r1 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %axis = irdl.base "#builtin.integer"
    irdl.attributes {"axis" = %axis}
    irdl.results(r0: %r0, r1: %r1)
  }
  irdl.operation @sqrt {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @square {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @stop_gradient {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @subtract {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    irdl.results(r0: %r0)
  }
  irdl.operation @sum {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %axes = irdl.base "#builtin.dense_array"
    %keepdims = irdl.base "#builtin.integer"
    irdl.attributes {"axes" = %axes, "keepdims" = %keepdims}
    irdl.results(r0: %r0)
  }
  irdl.operation @svd {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    %r1 = irdl.base "!builtin.tensor"
    %r2 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0, r1: %r1, r2: %r2)
  }
  irdl.operation @svdvals {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @take {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    %axis = irdl.base "#builtin.integer"
    irdl.attributes {"axis" = %axis}
    irdl.results(r0: %r0)
  }
  irdl.operation @take_along_axis {
    %x0 = irdl.base "!builtin.tensor"
    %x1 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0, x1: %x1)
    %axis = irdl.base "#builtin.integer"
    irdl.attributes {"axis" = %axis}
    irdl.results(r0: %r0)
  }
  irdl.operation @tan {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @tanh {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    irdl.results(r0: %r0)
  }
  irdl.operation @transpose {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %perm = irdl.base "#builtin.dense_array"
    irdl.attributes {"perm" = %perm}
    irdl.results(r0: %r0)
  }
  irdl.operation @tri_inv {
    %x0 = irdl.base "!builtin.tensor"
    %r0 = irdl.base "!builtin.tensor"
    irdl.operands(x0: %x0)
    %upper = irdl.base "#builtin.integer"
    irdl.attributes {"upper" = %upper}
    irdl.results(r0: %r0)
  }
}
