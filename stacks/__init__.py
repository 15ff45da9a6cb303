"""Stacks: each module composes library constructs for one part of the platform."""
