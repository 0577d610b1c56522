#include "app_version.h"

// Defined for this file only, so a version bump recompiles one source, not both front ends.
const char* dcscopeVersion() { return DCSCOPE_VERSION; }
