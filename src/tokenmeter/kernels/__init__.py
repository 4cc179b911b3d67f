"""Pure numpy kernels: int64 arrays in, int64 arrays out. No I/O, no model names.

Each kernel checks its inputs first (shape, dtype, range), computes with integer
arithmetic wherever the reference does, names the rounding mode wherever a float appears,
and never loops over items in Python. The scalar API is the kernel with N = 1.
"""
