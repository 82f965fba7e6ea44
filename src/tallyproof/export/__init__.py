"""File formats in and out: structure as JSON or a CSV set, forms as JSON Lines or CSV."""
