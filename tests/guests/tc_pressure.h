/* Parameters shared by the generated tc_pressure functions (assembly) and
 * the C reference model that recomputes what they should return. */
#ifndef TC_PRESSURE_H
#define TC_PRESSURE_H

#define TC_COUNT 6144
#define TC_A_MUL 0x9E3779B1
#define TC_A_ADD 0x7F4A7C15
#define TC_B_MUL 0x85EBCA77
#define TC_D_MUL 0x01000193

#endif
