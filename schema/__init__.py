"""The compiled GPU executable's format, shared by the passes that write it (passes/gpu.py,
passes/ptx.py) and the runtime that runs it (runtime/plan.py and the devices).

Its own layer so that neither side imports the other: pure Python and NumPy, it imports
nothing of ours and no MLIR (an exported executable runs where only the runtime is installed).
"""
