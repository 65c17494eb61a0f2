"""fashionfail-tui: one terminal app for the FashionFail paper's six models."""

__version__ = "0.1.0"
