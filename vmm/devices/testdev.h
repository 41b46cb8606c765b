/* The pc-testdev memory window (see testdev.c). */
#ifndef TESTDEV_H
#define TESTDEV_H
#define TESTDEV_BASE 0xFF000000u
#define TESTDEV_LEN  0x10000u
int testdev_attach(void);
#endif
