#!/usr/bin/env python3
"""Writes COUNT small files under ROOT for the benchmarks: PER_DIR files to a directory (d00, d01,
...; f00000.txt, ...), each HALF random bytes then HALF bytes of "x" (half compressible).
Usage: small_files.py ROOT COUNT PER_DIR HALF"""
import os
import sys

root, count, per_dir, half = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
width = max(2, len(str((count - 1) // per_dir)))
for i in range(count):
    d = os.path.join(root, "d%0*d" % (width, i // per_dir))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
        f.write(os.urandom(half) + b"x" * half)
