"""Training VAEs."""
