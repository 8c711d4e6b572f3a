"""Personal data: who may see which part of it."""
