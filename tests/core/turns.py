"""Rotations the core tests build their cases from: (w, x, y, z) tuples, plain Python."""

import math


def unit(q):
    n = math.sqrt(sum(c * c for c in q))
    return tuple(c / n for c in q)


def yaw(deg):
    """A turn of `deg` degrees about +Z (toward the character's left)."""
    h = math.radians(deg) / 2
    return (math.cos(h), 0.0, 0.0, math.sin(h))


def axis_angle(axis, degrees):
    n = math.sqrt(sum(a * a for a in axis))
    h = math.radians(degrees) / 2
    return (math.cos(h),) + tuple(math.sin(h) * a / n for a in axis)


def angle_between(a, b):
    """Degrees between two rotations (q and -q are one)."""
    dot = abs(sum(x * y for x, y in zip(a, b)))
    return math.degrees(2 * math.acos(min(1.0, dot)))


def close(a, b, tol=1e-9):
    return all(abs(x - y) <= tol for x, y in zip(a, b))
