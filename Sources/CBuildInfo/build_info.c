#include "build_info.h"

#ifndef MODELSEC_COMMIT
#define MODELSEC_COMMIT "unknown"
#endif

const char *modelsec_build_commit(void) { return MODELSEC_COMMIT; }
