"""When the practised workflow changed (placeholder, filled in below)."""
