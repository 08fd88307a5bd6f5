"""cartrack: chain-of-identity and chain-of-custody tracking for autologous CAR-T therapy."""

__version__ = "0.1.0"
