"""Deliberately broken service variants: negative controls that the checkers must flag."""
