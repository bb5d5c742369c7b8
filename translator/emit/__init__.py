"""The two back ends: a readable MLX module, and a serialized op list."""
