"""Stash tasks (and the CLI): routing by `mode`, one module per task family. The top layer: may
import every other package.
"""
