"""Benchmarks kept with the project; `make bench` runs them."""
