"""review-bot: a GitHub pull-request review bot driven by the StarCoder2 code models."""

__version__ = "0.1.0"
