"""Reusable AWS CDK constructs. Nothing here knows about environments or config files."""
