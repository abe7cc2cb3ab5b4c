"""Stacks and stages: each stack only composes constructs from `constructs/`."""
