"""Differential harness for `modelsec scan`: generated model files, the real loaders, an audit hook.

See Tests/Differential/README.md. Entry point: `python -m harness.main` (run.sh sets it up).
"""
