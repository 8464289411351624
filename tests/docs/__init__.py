"""Tests of the documentation: every message documented, the site builds, the version agrees."""
