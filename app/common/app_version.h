#pragma once

/// The project's version (CMake's PROJECT_VERSION), the same for the window and the CLI.
const char* dcscopeVersion();
