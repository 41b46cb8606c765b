#!/usr/bin/env python3
# Independent model of the tc_pressure guest's generated functions and call
# order (see tc_pressure.S/.c); prints the final checksum for EXPECTED.
M = 0xFFFFFFFF
N, PASSES, STEP, SEED = 6144, 4, 5003, 0x600DF00D


def rol(x, n):
    return ((x << n) | (x >> (32 - n))) & M


def fn(i, x):
    x ^= (i * 0x9E3779B1 + 0x7F4A7C15) & M
    x = rol(x, i % 31 + 1)
    x = (x + i * 0x85EBCA77) & M
    if x & (1 << (i % 32)):
        x = (x * ((i * 2 + 1) | 0x10001)) & M
    x = (x - i * 0x01000193) & M
    return x ^ (x >> (i % 13 + 3))


acc = SEED
for p in range(PASSES):
    for k in range(N):
        i = N - 1 - k if p == 1 else (k * STEP) % N if p == 2 else k
        acc = fn(i, acc)
print(f"0x{acc:08x}")
