"""Tests of the causal statistics (stats/causal) and the campaign review per-unit table mode."""
