"""hyirl: hybrid inverse reinforcement learning (HyPE, HyPER and baselines) in JAX."""

from hyirl.errors import HyirlError

__version__ = "0.32.0"
__all__ = ["HyirlError", "__version__"]
