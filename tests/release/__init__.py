"""Tests of the plugin-manager release: the zip, the index, the one version, the changelog."""
