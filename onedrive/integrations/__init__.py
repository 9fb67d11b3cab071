"""Adapters that plug OneDrive into other frameworks: ``navsim_agent`` (the NAVSIM devkit's agent)."""
