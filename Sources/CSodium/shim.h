#ifndef MODELSEC_CSODIUM_SHIM_H
#define MODELSEC_CSODIUM_SHIM_H
#include <sodium.h>
#endif
