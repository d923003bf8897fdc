// bq version, read by CMake (keep the three defines on their own lines).
#pragma once

#define BQ_VERSION_MAJOR 0
#define BQ_VERSION_MINOR 1
#define BQ_VERSION_PATCH 0
