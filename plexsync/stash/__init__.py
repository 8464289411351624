"""Stash: the GraphQL documents and the task-side client (stashapp-tools). Imports `core` and
`errors` only.
"""
