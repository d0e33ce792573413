"""tsfgui: micro-expression analysis with the TSFmicro model (desktop app, CLI, training)."""

__version__ = "0.1.0"
