"""What ``tools/benchmark.py`` measures, one module per area; not part of the installed library."""
