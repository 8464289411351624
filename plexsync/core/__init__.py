"""Shared foundations: the plugin protocol, Stash logging, JSON, the data directory, settings,
paths and the one field vocabulary. Imports nothing else of PlexSync but `errors`; every other
layer may import it. Light: the hook path loads parts of it.
"""
