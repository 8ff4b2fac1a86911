"""Tests of `shipyard serve` over real HTTP."""
