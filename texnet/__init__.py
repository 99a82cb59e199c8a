"""texnet: audio texture synthesis with fixed random CNN descriptors, an optimisation baseline and
feed-forward texture networks."""

__all__ = ["load_generator"]
__version__ = "0.1.0"


def __getattr__(name):  # lazy: importing texnet.audio should not pull in Lightning
    if name == "load_generator":
        from .inference import load_generator

        return load_generator
    raise AttributeError(name)
