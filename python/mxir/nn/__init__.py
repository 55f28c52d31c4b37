"""`mxir.nn`: MLX's neural-network layers, losses and initializers, written on mxir. Use as
`import mxir.nn as nn`."""

from . import init, losses  # noqa: F401
from .layers import *  # noqa: F401,F403
from .utils import average_gradients, checkpoint, value_and_grad  # noqa: F401
