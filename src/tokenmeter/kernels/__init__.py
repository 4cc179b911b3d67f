"""Pure numpy kernels: int64 arrays in, int64 arrays out. No I/O, no model names.

Each kernel checks its inputs first (shape, dtype, range), computes with integer
arithmetic wherever the reference does, names the rounding mode wherever a float appears,
and never loops over items in Python. The scalar API is the kernel with N = 1: given one
item as plain Python numbers, a kernel returns Python ints computed in Python (a numpy
call costs more than one item's arithmetic), and the tests check that form against the
array form item by item.
"""
