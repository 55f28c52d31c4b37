"""MLIR passes over the `mx` dialect, and the named pipelines that lower it."""

from .registry import PASSES, PIPELINES, Pass, run_pipeline, run_upstream
from .verify import verify

__all__ = ["PASSES", "PIPELINES", "Pass", "run_pipeline", "run_upstream", "verify"]
