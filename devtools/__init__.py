"""Development helpers shared by the tests, the scripts and the benchmarks (never deployed)."""
