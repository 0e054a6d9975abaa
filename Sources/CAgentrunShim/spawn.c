#include "agentrun_shim.h"
